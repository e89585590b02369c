package sim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/lifecycle"
	"github.com/meshbench/meshbench/proxy/retry"
	"github.com/meshbench/meshbench/proxy/upstream"
	"github.com/meshbench/meshbench/scenarios"
)

// The conformance test runs scripted request traces through the
// simulator's gateway and through the real proxy on loopback — on its
// general path and on its HTTP/1.1 fast path — in front of upstreams that
// answer each try as the script says, and requires the same decisions in
// the same order from all three: endpoints picked, retries, hedges,
// refusals with their reasons, ejections, breaker transitions, and the
// answer. The three drivers share the request's lifecycle; this is the
// test that they do nothing of their own.

// tryScript is what one try of a request meets.
type tryScript struct {
	status int           // the answer's status; 0 means 200
	reset  bool          // the connection breaks before an answer
	hang   bool          // no answer: the proxy's timeouts end the try
	delay  time.Duration // before the answer
}

var (
	answer = func(status int) tryScript { return tryScript{status: status} }
	reset  = tryScript{reset: true}
	hang   = tryScript{hang: true}
	slow   = func(d time.Duration) tryScript { return tryScript{delay: d} }
)

// reqScript is one client request: a pause before it is sent, then what
// its tries meet, by the order they reach an upstream (200 at once for
// tries past the script).
type reqScript struct {
	gap   time.Duration
	tries []tryScript
}

func req(tries ...tryScript) reqScript { return reqScript{tries: tries} }

// conformanceCase is one trace: the fleet, the policy and the requests.
// The policy is a scenario's, which bench/dataplane turns into the proxy's
// configuration for both the simulator and the real proxy, as it does for
// every run.
type conformanceCase struct {
	name        string
	endpoints   int   // svc[0], svc[1], ... balanced round robin
	dead        []int // endpoints nothing listens on: their connects are refused
	policy      scenarios.Policy
	requests    []reqScript
	generalOnly bool // hedging: the fast path does not take hedging routes
}

func (tc *conformanceCase) try(i, n int) tryScript {
	if ts := tc.requests[i].tries; n < len(ts) {
		return ts[n]
	}
	return tryScript{}
}

// trace is what a driver decided: the lifecycle's events, and the status
// each request was answered with.
type trace struct {
	mu       sync.Mutex
	events   []string
	statuses []int
}

func (tr *trace) record(e lifecycle.Event) {
	tr.mu.Lock()
	tr.events = append(tr.events, e.String())
	tr.mu.Unlock()
}

// policy is a round-robin policy with a 10s request timeout, changed by
// edit.
func policy(edit func(p *scenarios.Policy)) scenarios.Policy {
	p := scenarios.Policy{Balancer: scenarios.Balancer{Type: scenarios.BalancerRoundRobin}, Timeouts: scenarios.Timeouts{Request: 10 * time.Second}}
	if edit != nil {
		edit(&p)
	}
	return p
}

func conformanceCases() []conformanceCase {
	fiveXX := func() *scenarios.Retries {
		return &scenarios.Retries{Attempts: 3, RetryOn: []string{retry.On5xx}, Backoff: scenarios.Backoff{Base: time.Millisecond}}
	}
	return []conformanceCase{
		{
			name: "answers, 5xx and retries", endpoints: 3, policy: policy(func(p *scenarios.Policy) { p.Retries = fiveXX() }),
			requests: []reqScript{
				req(answer(200)),
				req(answer(503), answer(200)),
				req(answer(500), answer(502), answer(503)), // attempts spent: the last answer goes out
				req(answer(404)),
			},
		},
		{
			name: "resets and refused connects", endpoints: 3, dead: []int{1},
			policy: policy(func(p *scenarios.Policy) {
				p.Retries = &scenarios.Retries{Attempts: 3, RetryOn: []string{retry.OnReset, retry.OnConnectFailure}, Backoff: scenarios.Backoff{Base: time.Millisecond}}
			}),
			requests: []reqScript{
				req(reset), // svc[0] resets, svc[1] refuses, svc[2] answers
				req(),
				req(reset, reset, reset),
			},
		},
		{
			name: "per-try timeout, slow answers and the deadline", endpoints: 2,
			policy: policy(func(p *scenarios.Policy) {
				p.Timeouts.Request = 500 * time.Millisecond
				p.Retries = &scenarios.Retries{Attempts: 5, RetryOn: []string{retry.OnReset}, PerTryTimeout: 150 * time.Millisecond,
					Backoff: scenarios.Backoff{Base: time.Millisecond}}
			}),
			requests: []reqScript{
				req(hang, slow(20*time.Millisecond)),
				req(hang, hang, hang, hang), // the fourth try meets the deadline
			},
		},
		{
			name: "retry budget", endpoints: 2,
			policy: policy(func(p *scenarios.Policy) {
				p.Retries = fiveXX()
				p.Retries.Budget = &scenarios.RetryBudget{Ratio: 0.5, TTL: time.Hour}
			}),
			requests: []reqScript{
				req(answer(503)), // half a retry's credit: none
				req(answer(503), answer(200)),
				req(answer(503)),
				req(answer(503), answer(200)),
			},
		},
		{
			name: "breaker opens and a half-open probe closes it", endpoints: 2,
			policy: policy(func(p *scenarios.Policy) {
				p.CircuitBreaker = &scenarios.CircuitBreaker{ConsecutiveFailures: 2, SleepWindow: 300 * time.Millisecond}
			}),
			requests: []reqScript{
				req(answer(503)),
				req(answer(500)),
				req(),
				{gap: 400 * time.Millisecond},
				req(),
			},
		},
		{
			name: "outlier ejection", endpoints: 3,
			policy: policy(func(p *scenarios.Policy) {
				p.OutlierDetection = &scenarios.OutlierDetection{Consecutive5xx: 2, MaxEjectionPercent: 100, Interval: time.Hour, BaseEjectionTime: time.Hour}
			}),
			requests: []reqScript{
				req(answer(503)), req(), req(),
				req(answer(503)), // svc[0]'s second 5xx in a row ejects it
				req(), req(), req(), req(),
			},
		},
		{
			name: "rate limit", endpoints: 2,
			policy: policy(func(p *scenarios.Policy) {
				p.RateLimit = &scenarios.RateLimit{Key: scenarios.LimitKeyGlobal, Type: scenarios.LimiterTokenBucket, Rate: 0.001, Burst: 2}
			}),
			requests: []reqScript{req(), req(), req(), req()},
		},
		{
			name: "hedging", endpoints: 3, generalOnly: true,
			policy: policy(func(p *scenarios.Policy) {
				p.Timeouts.Request = 2 * time.Second
				p.Retries = fiveXX()
				p.Retries.Hedging = &scenarios.Hedging{Delay: 100 * time.Millisecond, MaxHedges: 1}
			}),
			requests: []reqScript{
				req(slow(600*time.Millisecond), answer(200)), // the hedge wins, the original is cancelled
				req(answer(200)),
				req(slow(600*time.Millisecond), answer(503)), // a retryable answer does not win; the original does
			},
		},
	}
}

func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("real proxies on loopback, with scripted delays")
	}
	for _, tc := range conformanceCases() {
		t.Run(tc.name, func(t *testing.T) {
			want := simTrace(t, &tc)
			if len(want.events) == 0 {
				t.Fatal("the simulator decided nothing")
			}
			paths := []bool{false}
			if !tc.generalOnly {
				paths = append(paths, true)
			}
			for _, fast := range paths {
				got := proxyTrace(t, &tc, fast)
				name := map[bool]string{false: "general path", true: "fast path"}[fast]
				compareTraces(t, name, want, got)
			}
		})
	}
}

func compareTraces(t *testing.T, name string, want, got *trace) {
	t.Helper()
	if fmt.Sprint(want.statuses) != fmt.Sprint(got.statuses) {
		t.Errorf("%s: statuses %v, the simulator's %v", name, got.statuses, want.statuses)
	}
	for i := range max(len(want.events), len(got.events)) {
		var w, g string
		if i < len(want.events) {
			w = want.events[i]
		}
		if i < len(got.events) {
			g = got.events[i]
		}
		if w != g {
			t.Fatalf("%s: decision %d is %q, the simulator's %q\nsimulator:\n  %s\n%s:\n  %s", name, i, g, w,
				strings.Join(want.events, "\n  "), name, strings.Join(got.events, "\n  "))
		}
	}
}

// simTrace runs tc through the simulator: one gateway route to a service
// whose replicas answer as the script says, the requests issued one after
// another.
func simTrace(t *testing.T, tc *conformanceCase) *trace {
	t.Helper()
	s := &spec{
		seed:     1,
		duration: time.Hour,
		gateway: gatewaySpec{routes: []routeSpec{{
			name: "r", match: mustMatch(scenarios.Match{PathPrefix: "/"}), service: "svc",
		}}},
		services: []serviceSpec{{name: "svc", replicas: tc.endpoints, concurrency: 100, queue: 100, serviceTime: constDist(0)}},
		loads:    []loadSpec{{name: "load", path: "/", shape: rateShape{kind: shapeConstant}}},
		policy:   tc.policy,
	}
	tr := &trace{}
	sink := &sequencer{tc: tc, tr: tr}
	m, err := build(s, sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.m = m
	for _, r := range m.gw.routes {
		r.lc.Observe = tr.record
	}
	for _, c := range m.clusters {
		c.lc.Observe = tr.record
	}
	for _, i := range tc.dead {
		m.replicas[i].down = true
	}
	tries := map[int]int{}
	m.script = func(a *attempt) (outcome, int64, bool) {
		n := tries[sink.i]
		tries[sink.i]++
		ts := tc.try(sink.i, n)
		switch {
		case ts.hang:
			return outcome{}, 0, false
		case ts.reset:
			return outcomeReset, int64(ts.delay), true
		case ts.status != 0:
			return statusOutcome(ts.status), int64(ts.delay), true
		}
		return outcomeOK, int64(ts.delay), true
	}
	sink.next()
	if _, err := m.run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(tr.statuses) != len(tc.requests) {
		t.Fatalf("the simulator answered %d requests of %d", len(tr.statuses), len(tc.requests))
	}
	return tr
}

// sequencer issues the script's requests one after another: each when the
// one before has been answered and its gap has passed.
type sequencer struct {
	tc *conformanceCase
	tr *trace
	m  *model
	i  int // the request being served
}

func (s *sequencer) Record(r bench.Result) {
	s.tr.statuses = append(s.tr.statuses, r.Status)
	s.i++
	s.next()
}

func (s *sequencer) next() {
	if s.i < len(s.tc.requests) {
		s.m.at(s.m.t+int64(s.tc.requests[s.i].gap), event{kind: evArrival, idx: 0})
	}
}

// proxyTrace runs tc through a real proxy on loopback, on its fast path or
// its general path, in front of upstream servers that answer as the script
// says.
func proxyTrace(t *testing.T, tc *conformanceCase, fast bool) *trace {
	t.Helper()
	up := newScriptedUpstreams(t, tc)
	tr := &trace{}
	cfg, err := dataplane.Gateway(&tc.policy, &scenarios.Topology{
		Gateway:  scenarios.Gateway{Routes: []scenarios.Route{{Name: "r", Service: "svc", Match: scenarios.Match{PathPrefix: "/"}}}},
		Services: []scenarios.Service{{Name: "svc"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clusters[0].Endpoints = up.endpoints
	opts := []proxy.Option{proxy.WithDecisions(tr.record), proxy.WithLogger(slog.New(slog.DiscardHandler))}
	if !fast {
		// A route middleware takes the route off the fast path.
		cfg.Routes[0].Middlewares = []config.MiddlewareConfig{{Name: "pass"}}
		opts = append(opts, proxy.WithMiddleware("pass", func(string, map[string]any) (proxy.Middleware, error) {
			return func(next http.Handler) http.Handler { return next }, nil
		}))
	}
	p, err := proxy.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		<-served
	}()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for i, rs := range tc.requests {
		time.Sleep(rs.gap) // the script's pause: time the policies measure, not synchronisation
		up.begin(i)
		r, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/pay", nil)
		r.Header.Set(proxy.HeaderRequestID, "req-"+strconv.Itoa(i))
		resp, err := client.Do(r)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		tr.mu.Lock()
		tr.statuses = append(tr.statuses, resp.StatusCode)
		tr.mu.Unlock()
	}
	return tr
}

// scriptedUpstreams are one HTTP server per live endpoint on loopback; a
// try meets what the script says for its request (X-Request-Id) and its
// place among that request's tries, counted across all of them.
type scriptedUpstreams struct {
	tc        *conformanceCase
	endpoints []upstream.Endpoint
	mu        sync.Mutex
	tries     map[int]int
}

func newScriptedUpstreams(t *testing.T, tc *conformanceCase) *scriptedUpstreams {
	t.Helper()
	u := &scriptedUpstreams{tc: tc, tries: map[int]int{}}
	for i := range tc.endpoints {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		u.endpoints = append(u.endpoints, upstream.Endpoint{ID: "svc[" + strconv.Itoa(i) + "]", Address: addr})
		if dead(tc, i) {
			ln.Close() // nothing listens: connects are refused
			continue
		}
		srv := &http.Server{Handler: http.HandlerFunc(u.serve), ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
	}
	return u
}

func dead(tc *conformanceCase, i int) bool {
	for _, d := range tc.dead {
		if d == i {
			return true
		}
	}
	return false
}

func (u *scriptedUpstreams) begin(i int) {
	u.mu.Lock()
	u.tries[i] = 0
	u.mu.Unlock()
}

func (u *scriptedUpstreams) serve(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(strings.TrimPrefix(r.Header.Get(proxy.HeaderRequestID), "req-"))
	if err != nil {
		http.Error(w, "no request id", http.StatusBadRequest)
		return
	}
	u.mu.Lock()
	n := u.tries[i]
	u.tries[i]++
	u.mu.Unlock()
	ts := u.tc.try(i, n)
	if ts.hang {
		<-r.Context().Done() // until the proxy gives up on the try
		return
	}
	if ts.delay > 0 {
		select {
		case <-time.After(ts.delay):
		case <-r.Context().Done():
			return
		}
	}
	if ts.reset {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
		return
	}
	status := ts.status
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "ok")
}
