package mtls

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// epoch is the virtual time of tests that do no handshakes.
var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	paymentsID = spiffeid.RequireFromString("spiffe://payments.example/ns/prod/sa/payments")
	gatewayID  = spiffeid.RequireFromString("spiffe://payments.example/ns/prod/sa/gateway")
	riskID     = spiffeid.RequireFromString("spiffe://payments.example/ns/prod/sa/risk")
)

func mustCA(t testing.TB, td string, now time.Time) *CA {
	t.Helper()
	ca, err := NewCA(CAOptions{TrustDomain: td, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustIssue(t testing.TB, ca *CA, id spiffeid.ID, now time.Time, ttl time.Duration) *SVID {
	t.Helper()
	s, err := ca.Issue(IssueRequest{ID: id, Now: now, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testServer is an http.Server on 127.0.0.1 behind Listen(mode).
type testServer struct {
	addr string
	srv  *http.Server
	done chan error
}

func startServer(t *testing.T, mode Mode, cfg *tls.Config, h http.Handler) *testServer {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen(inner, mode, cfg, 0)
	if err != nil {
		inner.Close()
		t.Fatal(err)
	}
	s := &testServer{addr: inner.Addr().String(), srv: &http.Server{Handler: h, ErrorLog: discardLog()}, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(l) }()
	t.Cleanup(func() {
		s.srv.Close()
		if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// client returns an HTTP/1.1 client with cfg (nil: plaintext), closed at
// the end of the test.
func client(t *testing.T, cfg *tls.Config, keepAlive bool) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 8}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// get does a GET and returns the status and body, or an error.
func get(ctx context.Context, c *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b [256]byte
	n, _ := resp.Body.Read(b[:])
	return resp.StatusCode, string(b[:n]), nil
}

// whoami answers with the peer's verified SPIFFE ID, or "plaintext".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if id, ok := PeerID(r); ok {
		w.Write([]byte(id.String()))
		return
	}
	w.Write([]byte("plaintext"))
})

// mesh is a CA with a server (payments) and a client (gateway) identity,
// ready for TLS on the wall clock.
type mesh struct {
	ca             *CA
	bundle         *Bundle
	server, client *Source
}

func newMesh(t *testing.T) *mesh {
	t.Helper()
	now := time.Now()
	ca := mustCA(t, "payments.example", now)
	return &mesh{
		ca:     ca,
		bundle: ca.Bundle(),
		server: NewSource(mustIssue(t, ca, paymentsID, now, time.Hour)),
		client: NewSource(mustIssue(t, ca, gatewayID, now, time.Hour)),
	}
}

func (m *mesh) serverTLS() *tls.Config { return ServerConfig(m.server, &Verifier{Bundle: m.bundle}) }

func (m *mesh) clientTLS(authorize func(spiffeid.ID) error) *tls.Config {
	return ClientConfig(m.client, &Verifier{Bundle: m.bundle, Authorize: authorize})
}

// discardLog silences http.Server's handshake-error logging of refused peers.
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }
