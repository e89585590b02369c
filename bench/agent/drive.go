package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// Endpoint is how the controller reaches one agent.
type Endpoint struct {
	// Name names the agent in errors and in Report.ClockOffsets (a pod's name).
	Name string
	// BaseURL is the agent's URL without a trailing slash, to which
	// /v1/run, /v1/clock and /v1/stop are appended: "http://10.1.2.3:9090",
	// or a pod proxy's ".../pods/NAME:9090/proxy".
	BaseURL string
	// Client carries the requests (nil: a client of its own, no timeout:
	// a run's stream lasts the run).
	Client *http.Client
}

var defaultClient = &http.Client{}

func (e Endpoint) client() *http.Client {
	if e.Client != nil {
		return e.Client
	}
	return defaultClient
}

// Report is what Drive measured beside the Partials it merged.
type Report struct {
	// Acks are the payments acknowledged to every agent's clients, agent
	// by agent, for the ledger audit.
	Acks []fleet.Ack
	// Requests counts the results every agent recorded.
	Requests int64
	// ClockOffsets are the agents' clock offsets (agent − controller) by
	// Endpoint.Name, and ClockUncertainty the bound on each one's error
	// (Cristian's algorithm, EstimateClock).
	ClockOffsets     map[string]time.Duration
	ClockUncertainty map[string]time.Duration
	// End is how far the load got: the plan's duration when every agent
	// finished, else the least any agent reached.
	End time.Duration
	// Epoch is the run's time zero in the controller's clock.
	Epoch time.Time
}

// StartLead is how far ahead of the clock readings Drive sets the run's
// epoch when the request has none: time for every agent to receive its
// request and prepare.
var StartLead = 3 * time.Second

// StopGrace is how long Drive waits, once its context ends, for the
// agents to stop their load and send what they measured before it hangs
// up on them.
var StopGrace = 15 * time.Second

// Drive runs req's load on agents, each a shard (ShardPlan) of the whole,
// and merges every agent's partial aggregates into into as they arrive,
// one at a time. It fills req's ID (when empty), Shard and Shards,
// Interval and BucketWidth (when zero; the width from into when it is a
// bench.PartialLayout), each agent's ClockOffset (EstimateClock), and the
// Epoch (when zero: StartLead after the clock readings; a backend that runs
// a fault timeline sets it, to start the timeline at the same zero, a few
// seconds ahead, time for the clock readings and the agents' start). progress, when
// not nil, is told how far through the plan's timeline the slowest agent
// is.
//
// When ctx ends, Drive asks every agent to stop (POST /v1/stop) and still
// merges what they send until their streams end (at most StopGrace): what
// was measured is kept, and Drive returns ctx.Err() with the report. An
// agent that fails stops the others too, and Drive returns its error.
func Drive(ctx context.Context, agents []Endpoint, req StartRequest, into bench.Merger, progress func(time.Duration)) (Report, error) {
	if len(agents) == 0 {
		return Report{}, errors.New("agent: no agents to drive")
	}
	if into == nil {
		return Report{}, errors.New("agent: no sink to merge into")
	}
	names := map[string]bool{}
	for i, ep := range agents {
		if ep.Name == "" || ep.BaseURL == "" || names[ep.Name] {
			return Report{}, fmt.Errorf("agent: endpoint %d (%q at %q): every agent needs a name of its own and a URL", i, ep.Name, ep.BaseURL)
		}
		names[ep.Name] = true
	}
	plan, err := scenarios.LoadBytes("plan.json", req.Plan)
	if err != nil {
		return Report{}, fmt.Errorf("agent: plan: %w", err)
	}
	if req.ID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		req.ID = hex.EncodeToString(b[:])
	}
	if req.Interval <= 0 {
		req.Interval = DefaultInterval
	}
	if req.BucketWidth <= 0 {
		req.BucketWidth = bench.DefaultBucketWidth
		if l, ok := into.(bench.PartialLayout); ok {
			_, req.BucketWidth = l.Layout()
		}
	}
	req.Shards = len(agents)

	rep := Report{ClockOffsets: map[string]time.Duration{}, ClockUncertainty: map[string]time.Duration{}, End: plan.Duration}
	clocks := make([]ClockEstimate, len(agents))
	var wg sync.WaitGroup
	errs := make([]error, len(agents))
	for i, ep := range agents {
		wg.Go(func() { clocks[i], errs[i] = EstimateClock(ctx, ep, nil) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Report{}, err
	}
	for i, ep := range agents {
		rep.ClockOffsets[ep.Name] = clocks[i].Offset
		rep.ClockUncertainty[ep.Name] = clocks[i].Uncertainty
	}
	if req.Epoch.IsZero() {
		req.Epoch = time.Now().Add(StartLead)
	}
	rep.Epoch = req.Epoch

	d := &driver{into: into, progress: progress, elapsed: make([]time.Duration, len(agents)), duration: plan.Duration}
	// The streams outlive ctx by up to StopGrace, so that the agents'
	// last frames are read after a stop.
	streamCtx, hangUp := context.WithCancel(context.WithoutCancel(ctx))
	defer hangUp()
	var (
		stops sync.WaitGroup
		grace *time.Timer
	)
	stopAll := sync.OnceFunc(func() {
		for _, ep := range agents {
			stops.Go(func() { stopAgent(streamCtx, ep, req.ID) })
		}
		grace = time.AfterFunc(StopGrace, hangUp)
	})
	watch := context.AfterFunc(ctx, stopAll)

	finals := make([]*FinalFrame, len(agents))
	for i, ep := range agents {
		r := req
		r.Shard = i
		r.ClockOffset = clocks[i].Offset
		wg.Go(func() {
			finals[i], errs[i] = d.stream(streamCtx, ep, i, r)
			if errs[i] != nil {
				stopAll()
			}
		})
	}
	wg.Wait()
	if !watch() {
		stopAll() // ctx ended: wait for its stopAll to be done
	}
	hangUp() // the stop requests still under way, if any
	stops.Wait()
	if grace != nil {
		grace.Stop()
	}

	for i, f := range finals {
		if f == nil {
			rep.End = 0
			continue
		}
		rep.Acks = append(rep.Acks, f.Acks...)
		rep.Requests += f.Requests
		rep.End = min(rep.End, time.Duration(f.EndNS))
		if f.Error != "" && errs[i] == nil {
			errs[i] = fmt.Errorf("agent %s: %s", agents[i].Name, f.Error)
		}
	}
	if progress != nil {
		progress(rep.End)
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, errors.Join(errs...)
}

// driver merges the agents' frames into the sink, one at a time.
type driver struct {
	into     bench.Merger
	progress func(time.Duration)
	duration time.Duration

	mu      sync.Mutex
	elapsed []time.Duration // each agent's last reported elapsed time
}

// merge merges agent i's partial, then reports progress.
func (d *driver) merge(i int, p *bench.Partial, elapsed time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.into.Merge(p); err != nil {
		return err
	}
	d.elapsed[i] = min(max(elapsed, 0), d.duration)
	if d.progress != nil {
		d.progress(minOf(d.elapsed))
	}
	return nil
}

func minOf(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds[1:] {
		m = min(m, d)
	}
	return m
}

// stream starts agent i's run and merges its frames until the final one.
func (d *driver) stream(ctx context.Context, ep Endpoint, i int, req StartRequest) (*FinalFrame, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", ep.Name, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.BaseURL+"/v1/run", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", ep.Name, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := ep.client().Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("agent %s: start: %w", ep.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("agent %s: start: %s: %s", ep.Name, resp.Status, bytes.TrimSpace(msg))
	}
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for n := 0; ; n++ {
		var f Frame
		if err := dec.Decode(&f); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("agent %s: stream ended before its final frame: %w", ep.Name, err)
		}
		switch {
		case n == 0 && f.Clock == nil:
			return nil, fmt.Errorf("agent %s: stream does not open with a clock frame", ep.Name)
		case f.Clock != nil:
			if want := req.Epoch.Add(req.ClockOffset).UnixNano(); f.Clock.EpochNS != want {
				return nil, fmt.Errorf("agent %s: starts at %d, want %d", ep.Name, f.Clock.EpochNS, want)
			}
		case f.Partial != nil:
			if err := d.merge(i, f.Partial, time.Duration(f.ElapsedNS)); err != nil {
				return nil, fmt.Errorf("agent %s: %w", ep.Name, err)
			}
		case f.Final != nil:
			return f.Final, nil
		}
	}
}

// stopAgent asks ep to stop run id, best effort: if it cannot be told,
// its stream ends at StopGrace.
func stopAgent(ctx context.Context, ep Endpoint, id string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.BaseURL+"/v1/stop?id="+url.QueryEscape(id), nil)
	if err != nil {
		return
	}
	resp, err := ep.client().Do(req)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
}
