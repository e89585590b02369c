package local

import (
	"net/http"
	"sync"

	"github.com/meshbench/meshbench/bench/load"
)

// tries counts the gateway's upstream tries per request, from the
// transport of its clusters, so that each Result can say how many retries
// and hedges its request took. The proxy keeps the load generator's
// X-Request-Id on every try; a try that starts while another try of the
// same request is still waiting for its answer is a hedge, any other try
// after the first is a retry. Health checks carry no request id and are
// not counted.
type tries struct {
	mu sync.Mutex
	m  map[string]*tryCount
}

type tryCount struct {
	inflight, retries, hedges int
}

func newTries() *tries { return &tries{m: map[string]*tryCount{}} }

// transport wraps a cluster's transport.
func (t *tries) transport(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		id := req.Header.Get(load.HeaderRequestID)
		if id == "" {
			return next.RoundTrip(req)
		}
		t.mu.Lock()
		c := t.m[id]
		switch {
		case c == nil:
			c = &tryCount{}
			t.m[id] = c
		case c.inflight > 0:
			c.hedges++
		default:
			c.retries++
		}
		c.inflight++
		t.mu.Unlock()
		resp, err := next.RoundTrip(req)
		t.mu.Lock()
		c.inflight--
		t.mu.Unlock()
		return resp, err
	})
}

// take reports and forgets the counts of a request (load.Attempts).
func (t *tries) take(id string) (retries, hedges int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.m[id]
	if c == nil {
		return 0, 0
	}
	delete(t.m, id)
	return c.retries, c.hedges
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
