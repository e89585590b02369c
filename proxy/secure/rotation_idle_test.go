package secure

import (
	"io"
	"testing"
	"time"
)

// TestRenewalClosesIdleConnections: after a renewal the gateway closes its
// idle upstream connections, so that the next request handshakes with the
// new certificate instead of reusing a connection made with the old one
// (the upstream keeps connections alive).
func TestRenewalClosesIdleConnections(t *testing.T) {
	ca := testCA(t)
	up := startMTLSUpstream(t, ca, "spiffe://mesh.test/ns/pay/sa/payments", 2*time.Minute, true, okHandler)
	h := startSecure(t, fill(rotationYAML, "UP", up.addr), func(s *SecurityConfig) { s.CA = ca })
	get := func() {
		t.Helper()
		resp, err := h.client.Get(h.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	get()
	get()
	if got := up.clientSerials(); got != 1 {
		t.Fatalf("upstream saw %d gateway certificates before the renewal, want 1", got)
	}
	if err := h.sp.Rotate(time.Now()); err != nil {
		t.Fatal(err)
	}
	get()
	if got := up.clientSerials(); got != 2 {
		t.Fatalf("upstream saw %d gateway certificates after the renewal, want 2: the pooled connection outlived its certificate", got)
	}
}
