package fleet

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/meshbench/meshbench/internal/precise"
	"github.com/meshbench/meshbench/scenarios"
)

// replica wraps a role's handler in the simulator's replica model: hang,
// injected latency, admission to a worker through the bounded queue,
// service time, injected errors, then the role's work while the worker is
// held. See the package documentation.
func (s *Service) replica(role http.HandlerFunc) http.Handler {
	return s.replicaTimed(s.serviceTime, role)
}

// replicaTimed is replica with the service time drawn from st (nil: none)
// instead of the service's: an operation with work of its own.
func (s *Service) replicaTimed(st scenarios.Distribution, role http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, s: s}
		defer func() { s.observe(rec.status, time.Since(start)) }()
		ctx, cancel := s.requestContext(r)
		defer cancel()
		r = r.WithContext(ctx)

		if err := s.hang(ctx); err != nil {
			s.gaveUp(rec, err)
			return
		}
		_, lat := s.faults.current()
		if lat != nil {
			var d time.Duration
			s.latRand.with(func(r *rand.Rand) { d = lat.Sample(r) })
			s.metrics.injected.WithLabelValues("latency").Inc()
			if err := sleep(ctx, d); err != nil {
				s.gaveUp(rec, err)
				return
			}
		}
		switch err := s.adm.acquire(ctx); {
		case errors.Is(err, errQueueFull):
			s.metrics.queueFull.Inc()
			rec.Header().Set(HeaderReason, ReasonQueueFull)
			writeError(rec, http.StatusServiceUnavailable, "queue full")
			return
		case err != nil:
			s.gaveUp(rec, err)
			return
		}
		defer s.adm.release()

		f, _ := s.faults.current()
		if err := sleep(ctx, f.scale(s.sampleServiceTime(st))); err != nil {
			s.gaveUp(rec, err)
			return
		}
		if err := s.hang(ctx); err != nil { // paused while working
			s.gaveUp(rec, err)
			return
		}
		f, _ = s.faults.current()
		if rate, status := f.errorRate(s.cfg.ErrorRate); s.errRand.bernoulli(rate) {
			s.metrics.injected.WithLabelValues("error").Inc()
			rec.Header().Set(HeaderReason, ReasonInjectedError)
			writeError(rec, status, "injected error")
			return
		}
		role(rec, r)
	})
}

// hang waits out a hang fault.
func (s *Service) hang(ctx context.Context) error {
	if f, _ := s.faults.current(); f.Hang {
		s.metrics.injected.WithLabelValues("hang").Inc()
	}
	return s.faults.waitHang(ctx)
}

func (s *Service) sampleServiceTime(st scenarios.Distribution) time.Duration {
	if st == nil {
		return 0
	}
	var d time.Duration
	s.stRand.with(func(r *rand.Rand) { d = st.Sample(r) })
	return d
}

// statusClientClosed is nginx's 499: the caller went away before the
// answer. It is written (nobody reads it) so that metrics count it apart.
const statusClientClosed = 499

// gaveUp answers a request whose wait ended early: aborted when the
// service crashed, 503 when it is closing, 504 when the caller's deadline
// budget ran out, 499 when the caller left.
func (s *Service) gaveUp(w http.ResponseWriter, err error) {
	s.abortIfCrashed()
	switch {
	case s.ctx.Err() != nil:
		w.Header().Set(HeaderReason, ReasonShuttingDown)
		writeError(w, http.StatusServiceUnavailable, "service is shutting down")
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "deadline exceeded")
	default:
		writeError(w, statusClientClosed, "client closed the request")
	}
}

func (s *Service) observe(status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	s.metrics.requests.WithLabelValues(strconv.Itoa(status)).Inc()
	s.metrics.latency.Observe(d.Seconds())
}

// sleep waits d, or until ctx ends, with package precise: a Go timer can
// fire a millisecond late on an idle process, and the lateness would be
// added to every service time the scenario gives.
func sleep(ctx context.Context, d time.Duration) error { return precise.Sleep(ctx, d) }

// recorder remembers the status written, and aborts the answer of a
// replica that crashed while the request was in progress.
type recorder struct {
	http.ResponseWriter
	s      *Service
	status int
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.s.abortIfCrashed()
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
