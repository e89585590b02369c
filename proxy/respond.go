package proxy

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// respondOwn writes the proxy's own answer, as the lifecycle decided it: a
// refusal, or the failure of the last try. A client that left (499) gets
// nothing; the status is only logged.
func (x *exchange) respondOwn(a *lifecycle.Action) {
	st := x.st
	if a.Status == lifecycle.StatusClientClosed {
		st.status, st.reason = a.Status, a.Reason
		return
	}
	if a.Status == http.StatusBadRequest && x.bodyTimedOut() {
		writeError(x.w, st, http.StatusRequestTimeout, ReasonBodyTimeout)
		return
	}
	if a.Status == http.StatusTooManyRequests {
		x.w.Header()["Retry-After"] = []string{retryAfterSeconds(a.RetryAfter)}
	}
	writeError(x.w, st, a.Status, a.Reason)
}

// forward streams try t's answer to the client and tells the lifecycle how
// its body ended.
func (x *exchange) forward(t *attempt) {
	st := x.st
	resp := t.resp
	if x.replay != nil {
		x.replay.commitTo(t.try) // the answer goes downstream: no more is kept
	}
	h := x.w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	removeHopByHop(h, false)
	appendHeader(h, "Via", viaValue(resp.ProtoMajor, resp.ProtoMinor))
	st.upstream = true
	if len(resp.Trailer) > 0 {
		keys := make([]string, 0, len(resp.Trailer))
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h["Trailer"] = keys
	}
	x.w.WriteHeader(resp.StatusCode)
	if st.grpc && resp.ContentLength == -1 {
		// A gRPC server may send its header metadata and then wait for
		// the client, which may wait for that metadata before it sends:
		// the head goes out now, not with the first message.
		if f, ok := x.w.(http.Flusher); ok {
			f.Flush()
		}
	}
	readErr, writeErr := copyBody(x.w, resp.Body, resp.ContentLength == -1)
	resp.Body.Close()
	for k, vv := range resp.Trailer {
		h[http.TrailerPrefix+k] = vv
	}
	now := time.Now()
	switch {
	case readErr != nil && x.in.Context().Err() != nil, writeErr != nil:
		// The client left mid-answer: nothing to learn upstream.
		if readErr != nil {
			st.abort = true
			st.status = lifecycle.StatusClientClosed
		}
		st.reason = ReasonClientClosed
		t.drop()
		x.req.ClientGone(now)
	case readErr != nil:
		// The upstream (or the request's deadline) broke the body after
		// the status was sent: the only honest signal left is to abort the
		// downstream stream too. A gRPC stream has a better one: trailers
		// whose grpc-status says what happened (UNAVAILABLE for a broken
		// upstream, DEADLINE_EXCEEDED for the deadline), which is what a
		// grpc-go client reports when its own server goes away.
		st.reason = ReasonUpstreamReset
		status := http.StatusBadGateway
		switch {
		case context.Cause(x.ctx) == errRouteTimeout:
			st.reason, status = ReasonRequestTimeout, http.StatusGatewayTimeout
		case t.rpc && t.timeout > 0 && now.Sub(t.start) >= t.timeout:
			// A gRPC server cancels the stream when the grpc-timeout it
			// was sent passes, which can come just before the proxy's own
			// timer (as in classify): it is that timeout.
			st.reason, status = ReasonUpstreamTimeout, http.StatusGatewayTimeout
		}
		if st.grpc && x.in.ProtoMajor == 2 {
			h[http.TrailerPrefix+headerGRPCStatus] = []string{strconv.Itoa(grpcCodeFor(status, st.reason))}
			h[http.TrailerPrefix+headerGRPCMessage] = []string{percentEncode("meshbench: " + st.reason)}
		} else {
			st.abort = true
		}
		t.finish(now, readErr)
		x.req.Ended(now, t.try, true)
	case st.grpc:
		if code := grpcStatusOf(resp.Trailer); code != 0 {
			t.grpc = code
		}
		t.finish(now, nil)
		x.req.EndedGRPC(now, t.try, false, t.grpc)
	default:
		t.finish(now, nil)
		x.req.Ended(now, t.try, false)
	}
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyBody streams src to w and tells read failures (the upstream's) from
// write failures (the client's). With flush set (a response of unknown
// length: server-sent events, long polls, gRPC streams) every chunk is
// flushed as it arrives, as net/http/httputil does.
func copyBody(w http.ResponseWriter, src io.Reader, flush bool) (readErr, writeErr error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var fl http.Flusher
	if flush {
		fl, _ = w.(http.Flusher)
	}
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil, werr
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return err, nil
		}
	}
}
