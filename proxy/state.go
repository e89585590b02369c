package proxy

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// reqState is everything the proxy tracks about one downstream request. It
// doubles as the ResponseWriter handed to routes, so the proxy learns the
// status and size of every answer, including those written by middlewares.
// States are pooled.
type reqState struct {
	w           http.ResponseWriter
	status      int
	written     int64
	wroteHeader bool

	start     time.Time
	id        string
	idHeader  []string // the X-Request-Id value slice, shared by both directions
	clientIP  string
	route     string
	cluster   string
	endpoint  string
	reason    string
	attempts  int
	abort     bool
	rng       *rand.Rand
	path      string // the cleaned (and sidecar-stripped) path routes see
	snap      *snapshot
	budget    time.Duration // the caller's deadline budget from HeaderDeadline and grpc-timeout
	hasBudget bool
	grpc      bool // a gRPC request: the proxy's own answers are gRPC's (grpc.go)
	upstream  bool // the answer being written is an upstream's, not the proxy's own
	swallow   bool // a gRPC own answer was written trailers-only: its body is dropped
}

var statePool = sync.Pool{New: func() any { return new(reqState) }}

// Header returns the downstream response header.
func (s *reqState) Header() http.Header { return s.w.Header() }

// WriteHeader records and sends the status. The proxy's own answer to a
// gRPC request (anything but a 200 that is not an upstream's: a refusal, a
// failed try, a middleware's 401) is sent as a trailers-only gRPC answer
// instead, whose body is dropped; the status it stands for is what the
// metrics and the access log record.
func (s *reqState) WriteHeader(code int) {
	if s.wroteHeader {
		return
	}
	if code >= 200 {
		s.wroteHeader = true
		s.status = code
		if s.grpc && !s.upstream && code != http.StatusOK {
			grpcAnswer(s.w.Header(), code)
			s.swallow = true
			code = http.StatusOK
		}
	}
	s.w.WriteHeader(code)
}

// Write sends body bytes, sending 200 first if no status was written.
func (s *reqState) Write(b []byte) (int, error) {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	if s.swallow {
		return len(b), nil
	}
	n, err := s.w.Write(b)
	s.written += int64(n)
	return n, err
}

// Flush sends buffered data to the client.
func (s *reqState) Flush() {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(s.w).Flush()
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (s *reqState) Unwrap() http.ResponseWriter { return s.w }

// stateKey carries the reqState through middlewares to the route.
type stateKey struct{}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// RequestID returns the id the proxy gave the request r belongs to (the
// X-Request-Id it kept or made), or "" when r did not come through a
// Proxy's handler: for route middlewares that log, as proxy/secure's audit
// log does.
func RequestID(r *http.Request) string {
	if st := stateFrom(r.Context()); st != nil {
		return st.id
	}
	return ""
}
