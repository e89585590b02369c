package local

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/meshbench/meshbench/bench/fleet"
)

// errAborted is what a caller sees when the embedded proxy aborts an
// answer (net/http's ErrAbortHandler): a connection reset, had there been
// a connection.
var errAborted = errors.New("proxyless: connection reset: the proxy aborted the answer")

// handlerTransport is the proxyless mesh's client side: the proxy library
// linked into the caller, as gRPC's proxyless xDS clients link their
// policies. The proxy package exposes its data plane as an http.Handler
// rather than an http.RoundTripper, so each call is served by that handler
// in the caller's goroutine: the same routing, balancing, retries, breaker
// and outlier detection as a sidecar, without a listener or a hop through
// loopback. The answer is buffered whole before it is returned, which suits
// the fleet's small JSON answers.
type handlerTransport struct {
	h http.Handler
}

// RoundTrip serves req with the embedded proxy.
func (t handlerTransport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	in := req.Clone(req.Context())
	in.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	in.RequestURI = req.URL.RequestURI()
	if in.Host == "" {
		in.Host = req.URL.Host
	}
	in.RemoteAddr = "127.0.0.1:0"
	in.Proto, in.ProtoMajor, in.ProtoMinor = "HTTP/1.1", 1, 1
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := fleet.NewRecorder()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				resp, err = nil, errAborted
				return
			}
			resp, err = nil, fmt.Errorf("proxyless: panic in the embedded proxy: %v", v)
		}
	}()
	t.h.ServeHTTP(rec, in)
	status := rec.Status
	if status == 0 {
		status = http.StatusOK
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.Headers,
		Body:          io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		ContentLength: int64(rec.Body.Len()),
		Request:       req,
	}, nil
}
