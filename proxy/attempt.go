package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/meshbench/meshbench/proxy/h1"
	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// attempt is the I/O of one try on the general path: the outbound request,
// its round trip under the try's timeout, and what came back.
type attempt struct {
	x       *exchange
	try     int
	ep      *endpoint
	start   time.Time
	ctx     context.Context
	cancel  context.CancelCauseFunc // nil when the try runs in the exchange's context
	timer   *time.Timer             // the per-try timeout, until the answer's head
	timeout time.Duration           // the time the try was given (and told, in grpc-timeout); 0: none
	rpc     bool                    // a gRPC request: copied from the request's state when the try starts, as a hedged try's goroutine may outlive that state
	reqOut  *http.Request

	resp      *http.Response
	status    int // the answer's status; 0 when there is none
	grpc      int // the grpc-status of a gRPC answer's head, then of its trailers; 0: OK or none
	err       error
	fail      lifecycle.Failure // how it failed when resp is nil
	gone      bool              // the client left while it was out
	async     bool              // it runs on a goroutine of its own (hedging)
	back      bool              // that goroutine has reported; until then only it touches resp and err
	cancelled bool              // the lifecycle stopped waiting for it
	done      bool              // finished or dropped
}

// startTry prepares the try a Send action asks for; it does not send it.
// The first try reads the request body as the route needs it; when that
// fails the failure is reported to the lifecycle and startTry returns false.
func (x *exchange) startTry(s *lifecycle.Action) (*attempt, bool) {
	if !x.prepared {
		if f, ok := x.prepareBody(); !ok {
			x.st.endpoint = s.Endpoint.ID
			x.req.Failed(time.Now(), s.Try, f)
			return nil, false
		}
		if !x.replayable {
			x.req.NotReplayable()
		}
		x.prepareRequest()
	}
	t := &attempt{x: x, try: s.Try, start: time.Now(), ctx: x.ctx, async: x.results != nil, timeout: s.Timeout, rpc: x.st.grpc}
	t.ep = x.c.endpointFor(s.Endpoint)
	t.ep.inflight.Add(1)
	x.st.endpoint = t.ep.id
	if s.PerTry || t.async {
		t.ctx, t.cancel = context.WithCancelCause(x.ctx)
		if s.PerTry {
			cancel := t.cancel
			t.timer = time.AfterFunc(s.Timeout, func() { cancel(errPerTryTimeout) })
		}
	}
	t.reqOut = x.newRequest(t, s.Timeout, s.Try > 1)
	for i := range x.tries {
		if x.tries[i] == nil {
			x.tries[i] = t
			break
		}
	}
	return t, true
}

// runAsync runs a hedged try and reports it on results.
func (t *attempt) runAsync(results chan<- *attempt) {
	defer func() {
		if v := recover(); v != nil {
			t.x.rt.env.log.Error("panic in hedged try", "panic", v)
			t.resp, t.err, t.fail = nil, errPanicInTry, lifecycle.Reset
		}
		results <- t
	}()
	t.roundTrip()
}

// roundTrip sends the try and classifies what came back.
func (t *attempt) roundTrip() {
	resp, err := t.x.c.rt.RoundTrip(t.reqOut)
	if t.timer != nil && !t.timer.Stop() && err == nil {
		// The per-try timeout fired as the head arrived; the body's
		// context is cancelled, so the answer cannot be used.
		resp.Body.Close()
		resp, err = nil, errPerTryTimeout
	}
	if err == nil && resp.StatusCode == http.StatusSwitchingProtocols {
		// The proxy forwards no Upgrade (removeHopByHop), so a switch is
		// to a protocol nobody asked for, whichever transport heard it:
		// no answer (502), and the connection is not reused.
		resp.Body.Close()
		resp, err = nil, h1.ErrUnaskedSwitch
	}
	t.resp, t.err = resp, err
	if err != nil {
		t.classify(err)
		return
	}
	t.status = resp.StatusCode
}

// classify turns a transport error into what the lifecycle judges: the
// client left, its body failed, a timeout (the lifecycle tells the per-try
// timeout from the request's deadline by the time), a local overflow, a
// connect failure or timeout, or else a reset.
func (t *attempt) classify(err error) {
	x := t.x
	var mbe *http.MaxBytesError
	bodyErr := x.stream.failure()
	if bodyErr == nil {
		bodyErr = x.replay.failure()
	}
	switch {
	case x.in.Context().Err() != nil:
		t.gone = true
	case errors.As(err, &mbe) || errors.As(bodyErr, &mbe):
		t.fail = lifecycle.BodyTooLarge
	case bodyErr != nil:
		t.fail = lifecycle.BadBody
	case x.ctx.Err() != nil, errors.Is(err, errPerTryTimeout), t.cancel != nil && context.Cause(t.ctx) == errPerTryTimeout:
		t.fail = lifecycle.Timeout
	default:
		t.fail = connFailure(err)
		if t.fail == lifecycle.Reset && t.rpc && t.timeout > 0 && time.Since(t.start) >= t.timeout {
			// A gRPC server resets the stream (CANCEL) when the
			// grpc-timeout it was sent passes, which can come just
			// before the proxy's own timer: it is that timeout.
			t.fail = lifecycle.Timeout
		}
	}
}

// connFailure classifies a try's error that is none of the proxy's own
// timeouts, on both paths: a local overflow (an Envoy threshold), a
// connect timeout or failure, or else a reset of the connection.
func connFailure(err error) lifecycle.Failure {
	var de *h1.DialError
	switch {
	case errors.As(err, &de) && de.Overflow:
		return lifecycle.Overflow
	case errors.As(err, &de) && isTimeout(de.Err):
		return lifecycle.ConnectTimeout
	case errors.As(err, &de):
		return lifecycle.Refused
	}
	return lifecycle.Reset
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// finish ends a try whose outcome the lifecycle heard: the endpoint's
// counters and the upstream metrics. bodyErr is a failure while reading the
// answer's body.
func (t *attempt) finish(now time.Time, bodyErr error) {
	if t.done {
		return
	}
	t.release()
	c := t.x.c
	lat := now.Sub(t.start)
	t.ep.requests.Add(1)
	t.ep.observe(lat)
	code := upstreamCode(t)
	if t.status == 0 || bodyErr != nil || t.status >= 500 || lifecycle.GRPCToHTTP(t.grpc) >= 500 {
		t.ep.failures.Add(1)
	}
	c.env.metrics.upstream(c.name, t.ep.id, code, lat)
}

// release stops the try's timer and context and its endpoint's in-flight
// count, once.
func (t *attempt) release() {
	t.done = true
	if t.timer != nil {
		t.timer.Stop()
	}
	if t.cancel != nil {
		t.cancel(context.Canceled)
	}
	t.ep.inflight.Add(-1)
}

// drop ends a try whose outcome does not count (cancelled, or out when the
// client left): its answer, if any, is closed unread.
func (t *attempt) drop() {
	if t.done {
		return
	}
	if t.resp != nil {
		t.resp.Body.Close()
	}
	t.release()
}

// discard ends a try whose answer is not forwarded (it is retried, or a
// better answer won): a little of its body is read, so that a short error
// body does not cost the connection, and the try counts in the metrics.
func (t *attempt) discard() {
	if t.resp != nil {
		_, _ = io.CopyN(io.Discard, t.resp.Body, 4<<10)
		t.resp.Body.Close()
	}
	t.finish(time.Now(), nil)
}

// upstreamCode is the code label of an upstream try: the status, or the
// kind of transport failure.
func upstreamCode(t *attempt) string {
	if t.status != 0 {
		return codeLabel(t.status)
	}
	return failureCode(t.fail)
}

// failureCode labels a try without an answer in the upstream metrics.
func failureCode(f lifecycle.Failure) string {
	switch f {
	case lifecycle.Timeout:
		return "timeout"
	case lifecycle.Refused, lifecycle.ConnectTimeout:
		return "connect_failure"
	}
	return "reset"
}
