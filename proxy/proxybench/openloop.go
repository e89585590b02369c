package proxybench

import (
	"context"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// fixedRateWorkers bounds the requests in flight at the fixed rate: 5,000
// req/s at a millisecond each needs five.
const fixedRateWorkers = 64

// fixedRate sends GETs to url at rate per second for d with vegeta's
// attacker (an open loop: requests are sent on schedule whether or not
// earlier ones have answered, as `vegeta attack -rate` does), over
// keep-alive HTTP/1.1 connections, and returns what it measured.
func fixedRate(ctx context.Context, url string, rate int, d time.Duration) Phase {
	tr := &http.Transport{
		MaxIdleConnsPerHost: fixedRateWorkers,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	defer tr.CloseIdleConnections()
	atk := vegeta.NewAttacker(
		vegeta.Client(&http.Client{Transport: tr, Timeout: 10 * time.Second}),
		// A fixed pool: vegeta starts a new worker whenever none is idle at
		// a tick, and on one core (GOMAXPROCS 1) none ever is until its
		// pacing loop yields, so an unbounded pool grows to thousands of
		// workers and connections the moment the load falls behind.
		vegeta.Workers(fixedRateWorkers),
		vegeta.MaxWorkers(fixedRateWorkers),
		vegeta.Redirects(vegeta.NoFollow),
	)
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: url})
	h := newHist()
	p := Phase{Tool: ToolOwn}
	start := time.Now()
	results := atk.Attack(targeter, burstPacer{rate: float64(rate), slack: time.Millisecond}, d, "bench")
	stopped := false
	for r := range results {
		if !stopped && ctx.Err() != nil {
			atk.Stop()
			stopped = true
		}
		p.Requests++
		if r.Code < 200 || r.Code > 299 {
			p.Errors++
			if p.firstError == "" {
				p.firstError = r.Error
			}
			continue
		}
		_ = h.RecordValue(r.Latency.Microseconds())
	}
	p.Seconds = time.Since(start).Seconds()
	p.latencies(h)
	p.Throughput = float64(p.Requests-p.Errors) / p.Seconds
	return p
}

// burstPacer is vegeta's constant rate with slack: hit n may go out up to
// slack before its time n/rate. Go's runtime sleeps at least about a
// millisecond when a core has nothing else to do (its network poller waits
// in whole milliseconds), so a pacer that asks for the 200 µs gaps of
// 5,000 req/s falls behind on one core; with a millisecond of slack the
// hits of each millisecond leave together and the mean rate is exact.
type burstPacer struct {
	rate  float64 // hits per second
	slack time.Duration
}

// Pace implements vegeta.Pacer.
func (p burstPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	due := time.Duration(float64(hits)/p.rate*float64(time.Second)) - p.slack
	if elapsed >= due {
		return 0, false
	}
	return due - elapsed, false
}

// Rate implements vegeta.Pacer.
func (p burstPacer) Rate(time.Duration) float64 { return p.rate }
