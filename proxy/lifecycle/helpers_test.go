package lifecycle

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/ratelimit"
	"github.com/meshbench/meshbench/proxy/retry"
)

// t0 is the harness's epoch.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// setup describes the route and cluster a harness builds.
type setup struct {
	endpoints   int // named a, b, c, ...
	balancer    string
	timeout     time.Duration
	retry       *retry.Policy
	budget      *retry.BudgetConfig
	hedge       *retry.HedgeConfig
	breaker     *breaker.Config
	thresholds  *breaker.Thresholds
	outlier     *outlier.Config
	limit       *ratelimit.Config
	concurrency *ratelimit.Config
}

// tb is what the harness needs of a testing.T or a rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// harness drives Requests by hand and writes down what they decide.
type harness struct {
	t   tb
	now time.Time
	rt  *Route
	cl  *Cluster
	rng *rand.Rand
	log []string // every Event the route and cluster report
}

func newHarness(t tb, s setup) *harness {
	t.Helper()
	h := &harness{t: t, now: t0, rng: rand.New(rand.NewPCG(1, 2))}
	if s.endpoints == 0 {
		s.endpoints = 3
	}
	if s.balancer == "" {
		s.balancer = "round_robin"
	}
	bal, err := balancer.New(balancer.Config{Type: s.balancer})
	if err != nil {
		t.Fatal(err)
	}
	h.cl = &Cluster{Name: "c", Balancer: bal, Observe: h.observe}
	if s.breaker != nil {
		if h.cl.Breaker, err = breaker.New(*s.breaker); err != nil {
			t.Fatal(err)
		}
	}
	if s.thresholds != nil {
		h.cl.Admission = breaker.NewAdmission(*s.thresholds)
	}
	if s.outlier != nil {
		cfg := *s.outlier
		cfg.Rand = rand.New(rand.NewPCG(3, 4))
		if h.cl.Outlier, err = outlier.New(cfg); err != nil {
			t.Fatal(err)
		}
	}
	if s.concurrency != nil {
		if h.cl.Concurrency, err = ratelimit.NewConcurrencyLimiter(*s.concurrency); err != nil {
			t.Fatal(err)
		}
	}
	var eps []balancer.Endpoint
	for i := range s.endpoints {
		id := string(rune('a' + i))
		eps = append(eps, balancer.Endpoint{ID: id, Addr: id, Tag: i})
	}
	h.cl.SetEndpoints(t0, eps, nil)
	h.rt = &Route{Name: "r", Clusters: []*Cluster{h.cl}, Timeout: s.timeout, Retry: s.retry, Observe: h.observe}
	if s.budget != nil {
		if h.rt.Budget, err = retry.NewBudget(*s.budget); err != nil {
			t.Fatal(err)
		}
	}
	if s.hedge != nil {
		if h.rt.Hedger, err = retry.NewHedger(*s.hedge); err != nil {
			t.Fatal(err)
		}
	}
	if s.limit != nil {
		lim, err := ratelimit.New(*s.limit)
		if err != nil {
			t.Fatal(err)
		}
		h.rt.Limits = []Limit{{Limiter: lim, Reason: RateLimited}}
	}
	if err := h.rt.Check(); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) observe(e Event) { h.log = append(h.log, e.String()) }

// at moves the harness's clock to t0+d.
func (h *harness) at(d time.Duration) time.Time {
	h.now = t0.Add(d)
	return h.now
}

// actions drains r and writes each action as "send 1 a", "send 2 b retry",
// "wait 25ms" (from now), "cancel 1", "forward 2", "respond 503 circuit_open".
func (h *harness) actions(r *Request) string {
	var out []string
	for _, a := range r.Actions() {
		out = append(out, describe(a))
	}
	return strings.Join(out, "; ")
}

func describe(a Action) string {
	switch a.Kind {
	case Send:
		s := fmt.Sprintf("send %d %s", a.Try, a.Endpoint.ID)
		if a.Retry {
			s += " retry"
		}
		if a.Hedge {
			s += " hedge"
		}
		if a.Timeout > 0 {
			s += fmt.Sprintf(" by %s", a.Timeout)
			if a.PerTry {
				s += " per-try"
			}
		}
		return s
	case Wait:
		return fmt.Sprintf("wait %s", a.Timeout)
	case Cancel, Forward:
		return fmt.Sprintf("%s %d", a.Kind, a.Try)
	case Respond:
		return fmt.Sprintf("respond %d %s", a.Status, a.Reason)
	}
	return a.Kind.String()
}

// begin starts a request at the harness's current time.
func (h *harness) begin(r *Request, in Arrival) string {
	r.Begin(h.rt, h.now, in, h.rng)
	return h.actions(r)
}

// events returns the events logged since the last call.
func (h *harness) events() string {
	s := strings.Join(h.log, "; ")
	h.log = nil
	return s
}

// want compares a step's actions with what the script expects.
func want(t testing.TB, step, got, exp string) {
	t.Helper()
	if got != exp {
		t.Fatalf("%s:\n got  %q\n want %q", step, got, exp)
	}
}
