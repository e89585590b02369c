package secure

import (
	"net/http"
	"sync"

	"github.com/meshbench/meshbench/proxy"
)

// tagged wraps a middleware of another package that may answer a request
// by itself (401, 403, a fault's abort) so that its answer carries
// proxy.HeaderReason, is logged with that reason and counted as a
// rejection, as the proxy's own answers are. Answers that come from further
// down the chain pass untouched.
func (l *layer) tagged(route string, mw proxy.Middleware, reason func(status int) string) proxy.Middleware {
	return func(next http.Handler) http.Handler {
		inner := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tw, ok := w.(*tagWriter); ok {
				tw.passed = true
				w = tw.ResponseWriter
			} else {
				for u := w; u != nil; {
					if tw, ok := u.(*tagWriter); ok {
						tw.passed = true
						break
					}
					uw, ok := u.(interface{ Unwrap() http.ResponseWriter })
					if !ok {
						break
					}
					u = uw.Unwrap()
				}
			}
			next.ServeHTTP(w, r)
		}))
		return &taggedHandler{inner: inner, serve: func(w http.ResponseWriter, r *http.Request) {
			tw := tagWriters.Get().(*tagWriter)
			*tw = tagWriter{ResponseWriter: w, l: l, route: route, reason: reason, r: r}
			inner.ServeHTTP(tw, r)
			*tw = tagWriter{}
			tagWriters.Put(tw)
		}}
	}
}

// taggedHandler is a tagged middleware around the rest of the route. It is
// a proxy.HeadChecker when the wrapped middleware is: a request that
// passes it untouched gets no answer of its own to tag.
type taggedHandler struct {
	inner http.Handler
	serve http.HandlerFunc
}

func (h *taggedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.serve(w, r) }

// CheckHead implements proxy.HeadChecker.
func (h *taggedHandler) CheckHead(field func(name string) (string, int), strip func(name string)) bool {
	hc, ok := h.inner.(proxy.HeadChecker)
	return ok && hc.CheckHead(field, strip)
}

var _ proxy.HeadChecker = (*taggedHandler)(nil)

// tagWriters are pooled: a request's writer is not used once its handler
// has returned, and the security middlewares run on every request.
var tagWriters = sync.Pool{New: func() any { return new(tagWriter) }}

// tagWriter is the ResponseWriter of a tagged middleware.
type tagWriter struct {
	http.ResponseWriter
	l       *layer
	route   string
	reason  func(int) string
	r       *http.Request // the request as it entered the middleware
	passed  bool          // the request went on past the middleware
	written bool
}

func (t *tagWriter) WriteHeader(code int) {
	if !t.passed && !t.written && code >= 400 {
		reason := t.reason(code)
		t.Header()[proxy.HeaderReason] = []string{reason}
		t.l.proxy.RecordRejection(t.r, t.route, reason)
	}
	if code >= 200 {
		t.written = true
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *tagWriter) Write(b []byte) (int, error) {
	if !t.written {
		t.WriteHeader(http.StatusOK)
	}
	return t.ResponseWriter.Write(b)
}

func (t *tagWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (t *tagWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
