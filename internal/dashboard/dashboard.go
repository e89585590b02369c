// Package dashboard serves the live view of a run (`meshbench run --serve`):
// one page whose charts draw, second by second, each backend × variant's
// latency percentiles, availability, throughput, retries and hedges, with
// the fault timeline and the SLO verdicts so far; and, once the run has
// ended, the run folder's report.
//
// The page's figures are the report's own: the Server is a bench.Observer,
// told each time bucket the aggregator will write into summary.json, and
// each job's final summary with its SLO verdicts. It passes them on to
// browsers as server-sent events (the EventSource protocol of the HTML
// standard), replaying the whole run to a browser that connects late. The
// page and its script are embedded in the binary: nothing is fetched from
// elsewhere.
package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports"
	"github.com/meshbench/meshbench/scenarios"
)

// Options configure a Server. The zero value serves nothing: Addr is
// required.
type Options struct {
	// Addr is the host:port to listen on; port 0 picks a free one (see
	// Server.URL).
	Addr string
	// AllowRemote permits an address other than loopback. The dashboard
	// has no authentication and shows a run's figures to whoever connects,
	// so by default it refuses to listen beyond this machine.
	AllowRemote bool
	// Pace, when above 0, holds each simulator job's time buckets back
	// until Pace seconds of the run's timeline have passed per second of
	// wall time since the job's first bucket: the simulator, which
	// computes a minute of traffic in a fraction of a second, is then
	// watched at real time (1) or N times faster (N). Jobs of a real
	// backend are never held back: they run in real time anyway, and
	// holding back their recording would delay their load generator. 0
	// shows buckets as soon as they exist.
	Pace float64
}

// Server is the dashboard of one run: an HTTP server and the run's event
// log. It is a bench.Observer (RunOptions.Observe).
type Server struct {
	opts   Options
	ctx    context.Context // the run's: cancelling it stops any pacing wait
	ln     net.Listener
	srv    *http.Server
	served chan struct{} // closed when Serve has returned
	log    *eventLog
	width  time.Duration

	paced []bool // by job: on the simulator, so Pace applies

	mu      sync.Mutex
	paceT0  map[int]paceStart
	report  string // the run folder, once its report is written
	closing bool
}

// simBackend is the simulator's name (sim.Backend), the one backend Pace
// applies to.
const simBackend = "sim"

// paceStart is when a job's first bucket was shown, and its index.
type paceStart struct {
	at    time.Time
	index int
}

// New checks opts.Addr, listens on it and starts serving the dashboard of
// the run of plan whose jobs (and their backends, as bench.Jobs returns
// them) are given; bucket is the run's bucket width (0: the default). The
// run's context ctx cuts short any pacing wait. Close stops the server.
func New(ctx context.Context, opts Options, plan *scenarios.Plan, jobs []bench.Job, backends []string, bucket time.Duration) (*Server, error) {
	if err := CheckAddr(opts.Addr, opts.AllowRemote); err != nil {
		return nil, err
	}
	if opts.Pace < 0 {
		return nil, fmt.Errorf("pace must be positive, got %g", opts.Pace)
	}
	if bucket <= 0 {
		bucket = bench.DefaultBucketWidth
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	s := &Server{
		opts:   opts,
		ctx:    ctx,
		ln:     ln,
		served: make(chan struct{}),
		log:    newEventLog(),
		width:  bucket,
		paceT0: map[int]paceStart{},
		paced:  make([]bool, len(jobs)),
	}
	for i := range jobs {
		s.paced[i] = backends[i] == simBackend
	}
	s.publish("meta", newMeta(plan, jobs, backends, bucket, opts.Pace))
	s.srv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

// ErrNotLoopback is CheckAddr's error for an address beyond this machine.
var ErrNotLoopback = errors.New("not a loopback address, and the dashboard has no authentication")

// CheckAddr reports whether addr is a host:port the dashboard may listen
// on: a loopback address (127.0.0.0/8, ::1, localhost), or any when
// allowRemote is set.
func CheckAddr(addr string, allowRemote bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a host:port address (for example 127.0.0.1:8080): %w", addr, err)
	}
	if port == "" {
		return fmt.Errorf("%q has no port (for example 127.0.0.1:8080; port 0 picks a free one)", addr)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	shown := host
	if host == "" {
		shown = "every interface"
	}
	return fmt.Errorf("%q listens on %s: %w", addr, shown, ErrNotLoopback)
}

// URL is the dashboard's address, with the port chosen when Addr asked for
// port 0.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/" }

// ReportURL is where the run's report is served once Finish has been
// called.
func (s *Server) ReportURL() string { return s.URL() + "report/" }

// Bucket passes a job's time bucket on to the browsers, after waiting for
// its time to come when Options.Pace is set (bench.Observer).
func (s *Server) Bucket(job, index int, b bench.Bucket, soFar bench.RunSummary) {
	s.pace(job, index)
	s.publish("bucket", bucketEvent{Job: job, Index: index, Bucket: b, SoFar: newTotals(soFar)})
}

// Done passes a job's final summary on to the browsers (bench.Observer).
func (s *Server) Done(job int, rs bench.RunSummary) {
	s.pace(job, len(rs.Buckets))
	s.publish("job", jobEvent{Job: job, Totals: newTotals(rs), Buckets: rs.Buckets, Error: rs.Error, Partial: rs.Partial, Untrustworthy: rs.Untrustworthy})
}

// pace waits until bucket index of job is due under Options.Pace, or the
// run's context ends.
func (s *Server) pace(job, index int) {
	if s.opts.Pace <= 0 || job >= len(s.paced) || !s.paced[job] {
		return
	}
	now := time.Now()
	s.mu.Lock()
	t0, ok := s.paceT0[job]
	if !ok {
		t0 = paceStart{at: now, index: index}
		s.paceT0[job] = t0
	}
	s.mu.Unlock()
	due := t0.at.Add(time.Duration(float64(time.Duration(index-t0.index)*s.width) / s.opts.Pace))
	wait := due.Sub(now)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ctx.Done():
	}
}

// Finish tells the browsers the run's outcome and starts serving the report
// written into dir (its index.html and plots) under /report/. runErr is
// the run's or the report's error, if any, shown beside the verdict.
func (s *Server) Finish(sum *bench.Summary, dir string, runErr error) {
	s.mu.Lock()
	s.report = dir
	s.mu.Unlock()
	ev := doneEvent{Report: "report/", Partial: sum != nil && sum.Partial}
	if sum != nil {
		ev.SLOPass = sum.SLOPass
		for _, r := range sum.Runs {
			ev.Runs = append(ev.Runs, doneRun{Backend: r.Backend, Variant: r.Variant, Repeat: r.Repeat, SLO: r.SLO})
		}
	}
	if runErr != nil {
		ev.Error = runErr.Error()
	}
	s.publish("done", ev)
}

// Close stops the server: event streams end, listeners close, and Close
// waits (up to ctx) for requests in flight.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	s.mu.Unlock()
	s.log.close()
	err := s.srv.Shutdown(ctx)
	<-s.served
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) publish(event string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		// Every payload is plain data of known types.
		panic(fmt.Sprintf("dashboard: encode %s event: %v", event, err))
	}
	s.log.append(event, data)
}

// meta is the first event: what the run is, before any figure.
type meta struct {
	Scenario  string    `json:"scenario"`
	Question  string    `json:"question,omitempty"`
	DurationS float64   `json:"duration_s"`
	WarmupS   float64   `json:"warmup_s"`
	BucketS   float64   `json:"bucket_s"`
	Pace      float64   `json:"pace,omitempty"`
	Faults    []fault   `json:"faults"`
	Jobs      []jobMeta `json:"jobs"`
	SLOs      []sloMeta `json:"slos"`
}

type fault struct {
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	Label  string  `json:"label"`
}

type jobMeta struct {
	Backend string `json:"backend"`
	Variant string `json:"variant"`
	Repeat  int    `json:"repeat"`
}

type sloMeta struct {
	Metric   string `json:"metric"`
	Workload string `json:"workload,omitempty"`
	Text     string `json:"text"`
	Variant  string `json:"variant,omitempty"`
	Backend  string `json:"backend,omitempty"`
}

func newMeta(plan *scenarios.Plan, jobs []bench.Job, backends []string, bucket time.Duration, pace float64) meta {
	tl := reports.PlanTimeline(plan)
	m := meta{
		Scenario:  plan.Name,
		Question:  plan.Question(),
		DurationS: plan.Duration.Seconds(),
		WarmupS:   plan.Warmup.Seconds(),
		BucketS:   bucket.Seconds(),
		Pace:      pace,
		Faults:    []fault{},
		Jobs:      []jobMeta{},
		SLOs:      []sloMeta{},
	}
	for _, f := range tl.Faults {
		m.Faults = append(m.Faults, fault{StartS: f.Start.Seconds(), EndS: f.End.Seconds(), Label: f.Label})
	}
	for i, j := range jobs {
		m.Jobs = append(m.Jobs, jobMeta{Backend: backends[i], Variant: plan.Variants[j.Variant].Name, Repeat: j.Repeat})
	}
	for _, slo := range plan.SLO {
		bound, t := slo.Bound()
		op := "≤"
		if bound == "min" {
			op = "≥"
		}
		m.SLOs = append(m.SLOs, sloMeta{Metric: slo.Metric, Workload: slo.Workload, Text: fmt.Sprintf("%s %s %s", slo.Label(), op, t), Variant: slo.Variant, Backend: slo.Backend})
	}
	return m
}

// totals are a job's figures since the warm-up: so far, or final.
type totals struct {
	Requests     int64              `json:"requests"`
	Availability float64            `json:"availability"`
	Throughput   float64            `json:"throughput_rps"`
	Latency      bench.Latency      `json:"latency_ms"`
	Retries      int64              `json:"retries"`
	Hedges       int64              `json:"hedges"`
	SLO          []bench.SLOVerdict `json:"slo"`
}

func newTotals(r bench.RunSummary) totals {
	slo := r.SLO
	if slo == nil {
		slo = []bench.SLOVerdict{}
	}
	return totals{Requests: r.Requests, Availability: r.Availability, Throughput: r.ThroughputRPS,
		Latency: r.LatencyMS, Retries: r.Retries, Hedges: r.Hedges, SLO: slo}
}

type bucketEvent struct {
	Job    int          `json:"job"`
	Index  int          `json:"index"`
	Bucket bench.Bucket `json:"bucket"`
	SoFar  totals       `json:"so_far"`
}

type jobEvent struct {
	Job     int            `json:"job"`
	Totals  totals         `json:"totals"`
	Buckets []bench.Bucket `json:"buckets"`
	Error   string         `json:"error,omitempty"`
	Partial bool           `json:"partial,omitempty"`
	// Untrustworthy says why the run's figures should not be trusted
	// (bench.RunSummary.Untrustworthy).
	Untrustworthy string `json:"untrustworthy,omitempty"`
}

type doneEvent struct {
	SLOPass bool      `json:"slo_pass"`
	Partial bool      `json:"partial"`
	Error   string    `json:"error,omitempty"`
	Report  string    `json:"report"`
	Runs    []doneRun `json:"runs"`
}

type doneRun struct {
	Backend string             `json:"backend"`
	Variant string             `json:"variant"`
	Repeat  int                `json:"repeat"`
	SLO     []bench.SLOVerdict `json:"slo"`
}
