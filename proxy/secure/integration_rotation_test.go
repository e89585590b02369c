package secure

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy"
)

// rotationYAML is a gateway that talks to its upstream over mutual TLS with
// short-lived SVIDs, pinning the upstream's identity.
const rotationYAML = `
routes:
  - name: pay
    match: {prefix: /}
    cluster: payments
clusters:
  - name: payments
    protocol: https
    endpoints: [{address: "{{UP}}"}]
security:
  identity:
    spiffeId: "` + gatewayID + `"
    ttl: 2m
    rotation: {renewFraction: 0.5}
  clusters:
    - cluster: payments
      peers: ["spiffe://mesh.test/ns/pay/sa/payments"]
`

// TestRotationUnderLoad rotates the gateway's client SVID and the
// upstream's server SVID twice while requests flow through the gateway over
// mutual TLS, and checks that not one request fails. The upstream closes
// every connection, so each request is a new handshake and the new
// certificates are used from the next request on: both sides must have
// seen three certificates of the other.
func TestRotationUnderLoad(t *testing.T) {
	ca := testCA(t)
	up := startMTLSUpstream(t, ca, "spiffe://mesh.test/ns/pay/sa/payments", 2*time.Minute, false, okHandler)

	var (
		mu      sync.Mutex
		servers = map[string]bool{} // upstream serials the gateway saw
	)
	record := proxy.WithTransport(func(_ string, tr http.RoundTripper) (http.RoundTripper, error) {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := tr.RoundTrip(r)
			if err == nil && resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
				mu.Lock()
				servers[resp.TLS.PeerCertificates[0].SerialNumber.String()] = true
				mu.Unlock()
			}
			return resp, err
		}), nil
	})
	h := startSecure(t, fill(rotationYAML, "UP", up.addr), func(s *SecurityConfig) { s.CA = ca }, record)

	const (
		workers = 6
		total   = 480
		margin  = 40 // requests that may start before a rotation has happened
	)
	thresholds := []int64{total / 3, 2 * total / 3}
	reached := []chan struct{}{make(chan struct{}), make(chan struct{})}
	rotated := []chan struct{}{make(chan struct{}), make(chan struct{})}
	var (
		ticket, failed atomic.Int64
		rotateErr      error
		wg             sync.WaitGroup
	)
	wg.Go(func() {
		for i := range reached {
			<-reached[i]
			if err := h.sp.Rotate(time.Now()); err != nil {
				rotateErr = err
			} else if err := up.rot.Rotate(time.Now()); err != nil {
				rotateErr = err
			}
			close(rotated[i])
		}
	})
	for range workers {
		wg.Go(func() {
			for {
				n := ticket.Add(1)
				if n > total {
					return
				}
				for i, th := range thresholds {
					if n == th {
						close(reached[i])
					}
					// Bound how far the load runs ahead of a rotation, so
					// that requests are in flight while it happens and
					// plenty start after it.
					if n >= th+margin {
						<-rotated[i]
					}
				}
				resp, err := h.client.Get(h.url + "/")
				if err != nil {
					failed.Add(1)
					t.Errorf("request %d: %v", n, err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					t.Errorf("request %d: status %d (%s)", n, resp.StatusCode, resp.Header.Get(proxy.HeaderReason))
				}
			}
		})
	}
	wg.Wait()
	if rotateErr != nil {
		t.Fatal(rotateErr)
	}
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed across rotations", failed.Load(), total)
	}
	if got := up.clientSerials(); got != 3 {
		t.Errorf("upstream saw %d gateway certificates, want 3 (initial and two rotations)", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(servers) != 3 {
		t.Errorf("gateway saw %d upstream certificates, want 3", len(servers))
	}
}
