package mtls

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRotationUnderLoad rotates both sides' short-lived certificates while
// requests flow: one keep-alive client whose connection must survive every
// rotation, and several clients that handshake on every request and so pick
// up each new certificate. No request may fail.
func TestRotationUnderLoad(t *testing.T) {
	const (
		workers   = 3  // handshake per request
		perWorker = 40 // requests per worker, keep-alive worker included
		every     = 8  // a rotation of both sides every this many requests
		ttl       = time.Minute
	)
	m := newMesh(t)
	now := time.Now()
	m.server.Set(mustIssue(t, m.ca, paymentsID, now, ttl))
	m.client.Set(mustIssue(t, m.ca, gatewayID, now, ttl))
	serverRot := NewRotator(m.server, &CAIssuer{CA: m.ca, ID: paymentsID, TTL: ttl}, RotationPolicy{})
	clientRot := NewRotator(m.client, &CAIssuer{CA: m.ca, ID: gatewayID, TTL: ttl}, RotationPolicy{})

	var mu sync.Mutex
	clientSerials := map[string]bool{} // client certificates the server saw
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := PeerID(r)
		if !ok || id != gatewayID {
			http.Error(w, "no peer", 500)
			return
		}
		mu.Lock()
		clientSerials[r.TLS.VerifiedChains[0][0].SerialNumber.String()] = true
		mu.Unlock()
	})
	s := startServer(t, ModeStrict, m.serverTLS(), handler)
	url := "https://" + s.addr + "/pay"
	ctx := context.Background()

	keepAlive := client(t, m.clientTLS(AuthorizeID(paymentsID)), true)
	initialServer := m.server.SVID().Leaf.SerialNumber.String()
	if err := do(ctx, keepAlive, url, nil); err != nil { // opens the long-lived connection
		t.Fatal(err)
	}

	var done, rotations atomic.Int32
	var failures []error
	var failMu sync.Mutex
	fail := func(err error) {
		failMu.Lock()
		failures = append(failures, err)
		failMu.Unlock()
	}
	afterRequest := func() {
		if done.Add(1)%every == 0 {
			if err := serverRot.Rotate(time.Now()); err != nil {
				fail(err)
			}
			if err := clientRot.Rotate(time.Now()); err != nil {
				fail(err)
			}
			rotations.Add(1)
		}
	}
	var serverSerials sync.Map // server certificates the fresh clients saw
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			c := client(t, m.clientTLS(AuthorizeID(paymentsID)), false)
			for i := range perWorker {
				if err := do(ctx, c, url, func(serial string) { serverSerials.Store(serial, true) }); err != nil {
					fail(fmt.Errorf("worker %d request %d: %w", w, i, err))
				}
				afterRequest()
			}
		})
	}
	var keptServerCert atomic.Bool
	keptServerCert.Store(true)
	wg.Go(func() {
		for i := range perWorker {
			err := do(ctx, keepAlive, url, func(serial string) {
				if serial != initialServer {
					keptServerCert.Store(false)
				}
			})
			if err != nil {
				fail(fmt.Errorf("keep-alive request %d: %w", i, err))
			}
			afterRequest()
		}
	})
	wg.Wait()

	for _, err := range failures {
		t.Error(err)
	}
	if r := rotations.Load(); r < (workers+1)*perWorker/every {
		t.Fatalf("%d rotations", r)
	}
	n := 0
	serverSerials.Range(func(any, any) bool { n++; return true })
	if n < 2 || len(clientSerials) < 2 {
		t.Fatalf("new handshakes saw %d server and %d client certificates; rotation did not take effect", n, len(clientSerials))
	}
	if !keptServerCert.Load() {
		t.Fatal("the keep-alive connection was re-established (it saw a new server certificate)")
	}
}

// do sends one GET, requires 200, and reports the server certificate's
// serial to seen.
func do(ctx context.Context, c *http.Client, url string, seen func(serial string)) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if seen != nil {
		seen(resp.TLS.PeerCertificates[0].SerialNumber.String())
	}
	return nil
}
