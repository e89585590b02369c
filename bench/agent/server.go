package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/load"
)

// ServerOptions configure an agent.
type ServerOptions struct {
	// Targets are the gateways off loopback that runs may send to, as
	// http://HOST:PORT (an agent in a cluster: the run's gateway Service);
	// a run whose target is neither on loopback nor one of these is
	// refused, so that an agent reachable by others is no open load
	// generator.
	Targets []string
	// Now is the agent's clock (nil: time.Now): a test gives an agent a
	// clock off the controller's, as another machine's would be. The load
	// itself waits on the real clock; the agent converts its epoch.
	Now func() time.Time
}

// Server is a load agent: an http.Handler serving the protocol of the
// package documentation. It runs one run at a time.
type Server struct {
	opts ServerOptions
	mux  *http.ServeMux

	mu      sync.Mutex
	current string             // the running run's id, "" when idle
	stop    context.CancelFunc // ends the current run's load
}

// NewServer returns an agent.
func NewServer(opts ServerOptions) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.mux.HandleFunc("GET /v1/clock", s.clock)
	s.mux.HandleFunc("POST /v1/run", s.run)
	s.mux.HandleFunc("POST /v1/stop", s.stopRun)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) clock(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(clockReading{UnixNS: s.opts.Now().UnixNano()})
}

func (s *Server) stopRun(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" || id != s.current {
		http.Error(w, fmt.Sprintf("agent: no run %q in progress", id), http.StatusNotFound)
		return
	}
	s.stop()
	w.WriteHeader(http.StatusNoContent)
}

// begin makes id the current run, or says which run is in progress.
func (s *Server) begin(id string, stop context.CancelFunc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != "" {
		return fmt.Errorf("agent: run %q in progress", s.current)
	}
	s.current, s.stop = id, stop
	return nil
}

func (s *Server) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current, s.stop = "", nil
}

// run serves POST /v1/run: it checks the request, answers with the clock
// frame, offers the shard's load from the epoch, and streams a partial
// aggregate every interval and the final frame at the end. The load ends
// early on POST /v1/stop or when the controller goes away.
func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	received := s.opts.Now()
	var req StartRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err := dec.Decode(&req); err != nil {
		http.Error(w, "agent: start request: "+err.Error(), http.StatusBadRequest)
		return
	}
	rn, err := resolve(req, s.opts.Targets)
	if err != nil {
		http.Error(w, "agent: "+err.Error(), http.StatusBadRequest)
		return
	}
	epoch := req.Epoch.Add(req.ClockOffset) // in the agent's clock
	if late := received.Sub(epoch); late > 0 {
		http.Error(w, fmt.Sprintf("agent: the run's epoch passed %s before the request arrived: give the agents more lead (bench/agent.StartLead) or check the clock offset", late.Round(time.Millisecond)), http.StatusBadRequest)
		return
	}
	ctx, stop := context.WithCancel(r.Context())
	defer stop()
	if err := s.begin(req.ID, stop); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	defer s.end()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	send := func(f Frame) error {
		if err := enc.Encode(f); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send(Frame{Clock: &ClockFrame{ReceivedNS: received.UnixNano(), SentNS: s.opts.Now().UnixNano(), EpochNS: epoch.UnixNano()}}); err != nil {
		return // the controller went away
	}
	s.offer(ctx, rn, epoch, send)
}

// offer runs the shard's load and streams its frames with send; a frame
// that cannot be sent ends the load.
func (s *Server) offer(ctx context.Context, rn *run, epoch time.Time, send func(Frame) error) {
	req, plan := rn.req, rn.plan
	width := req.BucketWidth
	if width <= 0 {
		width = bench.DefaultBucketWidth
	}
	interval := req.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	sink := &swapSink{warmup: plan.Warmup, width: width}
	sink.agg = bench.NewAggregator(plan.Warmup, width)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type result struct {
		rep load.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := load.Run(ctx, load.Config{
			Target:            req.Target,
			AllowRemoteTarget: len(s.opts.Targets) > 0, // the target is checked: loopback or one of them
			Plan:              plan,
			Seed:              req.Seed,
			Epoch:             epoch.Add(time.Since(s.opts.Now())), // on the real clock
			Timeout:           req.Timeout,
			Sink:              sink,
			Shard:             req.Shard,
			Shards:            req.Shards,
		})
		done <- result{rep, err}
	}()
	flush := func(elapsed time.Duration) error {
		p, err := sink.take()
		if err != nil {
			return err
		}
		return send(Frame{Partial: p, ElapsedNS: int64(elapsed)})
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var res result
	sendErr := error(nil)
loop:
	for {
		select {
		case res = <-done:
			break loop
		case <-tick.C:
			if err := flush(s.opts.Now().Sub(epoch)); err != nil && sendErr == nil {
				sendErr = err
				cancel() // nobody reads what this load measures
			}
		}
	}
	if sendErr != nil {
		return
	}
	final := &FinalFrame{Acks: res.rep.Acks, Requests: res.rep.Requests, EndNS: int64(plan.Duration)}
	if ctx.Err() != nil {
		final.Stopped = true
		final.EndNS = int64(min(max(s.opts.Now().Sub(epoch), 0), plan.Duration))
	}
	if res.err != nil && !errors.Is(res.err, context.Canceled) {
		final.Error = res.err.Error()
	}
	if err := flush(time.Duration(final.EndNS)); err != nil {
		if final.Error == "" {
			final.Error = err.Error()
		}
	}
	_ = send(Frame{Final: final})
}

// swapSink records into an aggregator that take hands over whole and
// replaces, so that each partial frame holds the results since the last.
type swapSink struct {
	warmup, width time.Duration

	mu  sync.Mutex
	agg *bench.Aggregator
}

// Record implements bench.Sink.
func (s *swapSink) Record(r bench.Result) {
	s.mu.Lock()
	s.agg.Record(r)
	s.mu.Unlock()
}

// take returns what was recorded since the last take.
func (s *swapSink) take() (*bench.Partial, error) {
	s.mu.Lock()
	agg := s.agg
	s.agg = bench.NewAggregator(s.warmup, s.width)
	s.mu.Unlock()
	return agg.Partial()
}
