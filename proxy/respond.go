package proxy

import (
	"context"
	"io"
	"net/http"
	"sync"
)

// respond writes the exchange's answer: the proxy's own error for a try
// without a response, or the upstream response streamed through.
func (x *exchange) respond(a *attempt) {
	st := x.st
	if a.resp == nil {
		a.finish(nil)
		switch {
		case a.status == statusClientClosed:
			st.status, st.reason = statusClientClosed, a.reason
		default:
			writeError(x.w, st, a.status, a.reason)
		}
		return
	}
	resp := a.resp
	x.success = resp.StatusCode < 500
	h := x.w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	removeHopByHop(h, false)
	appendHeader(h, "Via", viaValue(resp.ProtoMajor, resp.ProtoMinor))
	if len(resp.Trailer) > 0 {
		keys := make([]string, 0, len(resp.Trailer))
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h["Trailer"] = keys
	}
	x.w.WriteHeader(resp.StatusCode)
	readErr, writeErr := copyBody(x.w, resp.Body, resp.ContentLength == -1)
	resp.Body.Close()
	for k, vv := range resp.Trailer {
		h[http.TrailerPrefix+k] = vv
	}
	switch {
	case readErr != nil:
		// The upstream (or the route timeout) broke the body after the
		// status was sent: the only honest signal left is to abort the
		// downstream stream too.
		st.abort = true
		if x.in.Context().Err() != nil {
			x.noOutcome = true
			a.noRecord = true
			st.status, st.reason = statusClientClosed, ReasonClientClosed
			readErr = nil
		} else {
			x.success = false
			st.reason = ReasonUpstreamReset
			if context.Cause(x.ctx) == errRouteTimeout {
				st.reason = ReasonRequestTimeout
			}
		}
		a.finish(readErr)
	case writeErr != nil:
		x.noOutcome = true
		a.noRecord = true
		st.reason = ReasonClientClosed
		a.finish(nil)
	default:
		a.finish(nil)
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
