package secure

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/meshbench/meshbench/proxy"
)

// countingUpstream answers 200 with a cacheable body and counts requests.
func countingUpstream(t testing.TB) (string, *atomic.Int64) {
	var n atomic.Int64
	return upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := n.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "response %d", c)
	})), &n
}

const faultYAML = `
routes:
  - name: chaos
    match: {prefix: /}
    cluster: up
    middlewares:
      - name: fault
        params:
          delay: {fixed: 1ms, percentage: 50}
          abort: {status: 503, percentage: 20}
          match: {name: X-Chaos}
clusters:
  - name: up
    endpoints: [{address: "{{UP}}"}]
`

// TestFaultPercentagesThroughProxy aborts 20% of the requests that carry
// the match header, through the proxy and concurrently, and checks the
// share within five standard deviations of the binomial, that aborts carry
// the reason header and never reach the upstream, and that requests
// without the header are never touched.
func TestFaultPercentagesThroughProxy(t *testing.T) {
	up, hits := countingUpstream(t)
	h := startSecure(t, fill(faultYAML, "UP", up), nil)
	const (
		n       = 2000
		plain   = 200
		workers = 8
		p       = 0.20
	)
	var aborted, other, untagged atomic.Int64
	var tickets atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := tickets.Add(1)
				if i > n+plain {
					return
				}
				req, _ := http.NewRequest(http.MethodGet, h.url+"/x", nil)
				if i <= n {
					req.Header.Set("X-Chaos", "on")
				}
				resp, err := h.client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == 503 && i <= n:
					aborted.Add(1)
					if resp.Header.Get(proxy.HeaderReason) != ReasonFaultInjected {
						untagged.Add(1)
					}
				case resp.StatusCode != 200:
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	mean, sd := n*p, math.Sqrt(n*p*(1-p))
	if a := float64(aborted.Load()); math.Abs(a-mean) > 5*sd {
		t.Errorf("%v of %d requests aborted, want %v ± %.0f", a, n, mean, 5*sd)
	}
	if other.Load() != 0 || untagged.Load() != 0 {
		t.Errorf("%d unexpected statuses (requests without the header included), %d aborts without the reason header", other.Load(), untagged.Load())
	}
	if got, want := hits.Load(), int64(n+plain)-aborted.Load(); got != want {
		t.Errorf("upstream got %d requests, want %d: aborted requests must not be forwarded", got, want)
	}
}

const cacheYAML = `
routes:
  - name: catalog
    match: {prefix: /catalog}
    cluster: up
    middlewares:
      - name: cache
        params: {statusHeader: X-Cache, maxBytes: 1048576}
clusters:
  - name: up
    endpoints: [{address: "{{UP}}"}]
`

// TestCacheThroughProxy checks that repeated GETs and HEADs are answered by
// the gateway's cache, with Age, and that a POST invalidates the entry.
func TestCacheThroughProxy(t *testing.T) {
	up, hits := countingUpstream(t)
	h := startSecure(t, fill(cacheYAML, "UP", up), nil)
	for i := range 20 {
		resp, body := h.get(t, nil, h.url+"/catalog/a")
		want := "HIT"
		if i == 0 {
			want = "MISS"
		}
		if resp.StatusCode != 200 || body != "response 1" || resp.Header.Get("X-Cache") != want {
			t.Fatalf("GET %d: %d %q X-Cache=%s, want response 1 and %s", i, resp.StatusCode, body, resp.Header.Get("X-Cache"), want)
		}
		if i > 0 && resp.Header.Get("Age") == "" {
			t.Fatalf("GET %d: a hit without Age", i)
		}
	}
	req, _ := http.NewRequest(http.MethodHead, h.url+"/catalog/a", nil)
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Cache") != "HIT" {
		t.Errorf("HEAD: X-Cache %q, want HIT", resp.Header.Get("X-Cache"))
	}
	if hits.Load() != 1 {
		t.Fatalf("upstream saw %d requests for 21 cached reads", hits.Load())
	}
	post, err := h.client.Post(h.url+"/catalog/a", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	resp, body := h.get(t, nil, h.url+"/catalog/a")
	if body != "response 3" || resp.Header.Get("X-Cache") != "MISS" {
		t.Errorf("after POST: %q X-Cache=%s, want a fresh response", body, resp.Header.Get("X-Cache"))
	}
	if st := h.sp.CacheStats()["catalog"]; st.Hits != 20 || st.Invalidated == 0 {
		t.Errorf("cache stats %+v, want 20 hits and an invalidation", st)
	}
}
