package proxy

import (
	"time"
)

// hedged runs one try as a race of hedged copies, "The Tail at Scale"
// style: the original is sent at once and, while nothing has answered, a
// copy every Hedger.Delay() (each withdrawing from the retry budget, as the
// Hedger's contract asks), up to MaxHedges copies. Every copy picks its own
// endpoint. The first answer that the retry policy would not retry wins; the
// other copies are cancelled (their endpoints are not blamed). Failures do
// not win while another copy is in flight; when all have failed, the last
// failure is the try's result and the retry loop decides what follows.
func (x *exchange) hedged(try int) *attempt {
	h := x.rt.hedger
	m := x.rt.env.metrics
	results := make(chan *attempt, 1+h.MaxHedges())
	var live []*attempt
	launch := func(hedge bool) {
		a := x.startTry(try, hedge)
		if !a.picked {
			results <- a
			return
		}
		live = append(live, a)
		go func() {
			defer func() {
				if v := recover(); v != nil {
					x.rt.env.log.Error("panic in hedged try", "panic", v)
					a.resp, a.err = nil, errPanicInTry
					a.classify(errPanicInTry)
				}
				results <- a
			}()
			a.roundTrip()
		}()
	}
	launch(false)
	pending, hedges := 1, 0
	timer := time.NewTimer(h.Delay())
	defer timer.Stop()
	var last *attempt
	for pending > 0 {
		select {
		case a := <-results:
			pending--
			if a.fatal || (a.resp != nil && a.final) {
				if last != nil {
					last.discard()
				}
				if pending > 0 {
					x.cancelLosers(a, live, results, pending)
				}
				return a
			}
			if last != nil {
				last.discard()
			}
			last = a
		case <-timer.C:
			if hedges < h.MaxHedges() && x.rt.budget.TryWithdraw(time.Now()) {
				hedges++
				pending++
				m.hedges.WithLabelValues(x.rt.name, x.c.name).Inc()
				launch(true)
				timer.Reset(h.Delay())
			}
		}
	}
	return last
}

// cancelLosers cancels every copy but the winner and finishes them in the
// background as their round trips return.
func (x *exchange) cancelLosers(winner *attempt, live []*attempt, results chan *attempt, pending int) {
	for _, a := range live {
		if a != winner && a.cancel != nil {
			a.cancel(errHedgeLost)
		}
	}
	go func() {
		for range pending {
			a := <-results
			a.noRecord = true
			a.discard()
		}
	}()
}
