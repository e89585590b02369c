package proxy

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/h1"
)

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// overflowError is the error of a dial refused by the max_connections
// threshold.
func overflowError() error {
	d := h1.NewDialer(nil, breaker.NewAdmission(breaker.Thresholds{MaxConnections: breaker.None}))
	_, err := d.DialContext(context.Background(), "tcp", "upstream:80")
	return err
}

// TestTransportErrorStatuses checks how transport failures that loopback
// cannot produce on demand map to answers, through a fake transport.
func TestTransportErrorStatuses(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		reason string
	}{
		{name: "connect timeout", err: &h1.DialError{Err: timeoutError{}}, status: 504, reason: ReasonConnectTimeout},
		{name: "connect refused", err: &h1.DialError{Err: errors.New("connection refused")}, status: 503, reason: ReasonConnectFailure},
		{name: "connection limit", err: overflowError(), status: 503, reason: ReasonOverflow},
		{name: "reset", err: errors.New("connection reset by peer"), status: 502, reason: ReasonUpstreamReset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fail := WithTransport(func(string, http.RoundTripper) (http.RoundTripper, error) {
				return roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, tc.err }), nil
			})
			p, err := New(oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps("127.0.0.1:1")}, config.Policy{}), fail, quiet(t))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			rec := newRecorder()
			p.Handler().ServeHTTP(rec, newGet("/"))
			if rec.Code != tc.status || rec.Header().Get(HeaderReason) != tc.reason {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Header().Get(HeaderReason), tc.status, tc.reason)
			}
		})
	}
}
