package mtls

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

func TestModes(t *testing.T) {
	ctx := context.Background()
	m := newMesh(t)
	stranger := newMesh(t) // another CA
	for _, tc := range []struct {
		mode           Mode
		mtls, noCert   bool // what must succeed
		plain, foreign bool
	}{
		{ModeStrict, true, false, false, false},
		{ModePermissive, true, false, true, false},
		{ModeDisable, false, false, true, false},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			var served atomic.Int32
			h := countingHandler(&served)
			var cfg *tls.Config
			if tc.mode != ModeDisable {
				cfg = m.serverTLS()
			}
			s := startServer(t, tc.mode, cfg, h)
			for _, c := range []struct {
				name string
				url  string
				tls  *tls.Config
				ok   bool
				body string
			}{
				{"mtls", "https://" + s.addr, m.clientTLS(nil), tc.mtls, gatewayID.String()},
				{"tls without client certificate", "https://" + s.addr, &tls.Config{InsecureSkipVerify: true}, tc.noCert, ""},
				{"client certificate from another CA", "https://" + s.addr, ClientConfig(stranger.client, &Verifier{Bundle: m.bundle}), tc.foreign, ""},
				{"plaintext", "http://" + s.addr, nil, tc.plain, "plaintext"},
			} {
				t.Run(c.name, func(t *testing.T) {
					before := served.Load()
					status, body, err := get(ctx, client(t, c.tls, false), c.url)
					ok := err == nil && status == 200
					if ok != c.ok {
						t.Fatalf("status %d, body %q, err %v; want success %v", status, body, err, c.ok)
					}
					if c.ok && body != c.body {
						t.Fatalf("body %q, want %q", body, c.body)
					}
					if !c.ok && served.Load() != before {
						t.Fatal("the handler served a refused connection")
					}
				})
			}
		})
	}
}

func countingHandler(n *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		whoami.ServeHTTP(w, r)
	})
}

func TestClientPinsServerIdentity(t *testing.T) {
	m := newMesh(t)
	s := startServer(t, ModeStrict, m.serverTLS(), whoami)
	ctx := context.Background()
	if _, _, err := get(ctx, client(t, m.clientTLS(AuthorizeID(paymentsID)), false), "https://"+s.addr); err != nil {
		t.Fatalf("expected server: %v", err)
	}
	_, _, err := get(ctx, client(t, m.clientTLS(AuthorizeID(riskID)), false), "https://"+s.addr)
	if err == nil || !strings.Contains(err.Error(), "not an expected identity") {
		t.Fatalf("unexpected server accepted: %v", err)
	}
}

func TestServerRefusesOutsideTrustDomain(t *testing.T) {
	now := time.Now()
	ca := mustCA(t, "", now)
	m := &mesh{ca: ca, bundle: ca.Bundle(),
		server: NewSource(mustIssue(t, ca, paymentsID, now, time.Hour)),
		client: NewSource(mustIssue(t, ca, mustID(t, "spiffe://other.example/sa/x"), now, time.Hour))}
	td := paymentsID.TrustDomain()
	s := startServer(t, ModeStrict, ServerConfig(m.server, &Verifier{Bundle: m.bundle, Authorize: AuthorizeMemberOf(td)}), whoami)
	if _, _, err := get(context.Background(), client(t, m.clientTLS(nil), false), "https://"+s.addr); err == nil {
		t.Fatal("a peer from another trust domain was accepted")
	}
}

func TestBundleRotation(t *testing.T) {
	m := newMesh(t)
	s := startServer(t, ModeStrict, m.serverTLS(), whoami)
	ctx := context.Background()
	// A client of a new CA is refused until the bundle holds both roots.
	now := time.Now()
	next := mustCA(t, "payments.example", now)
	newClient := NewSource(mustIssue(t, next, gatewayID, now, time.Hour))
	both := NewBundle(m.ca.Cert, next.Cert)
	cfg := ClientConfig(newClient, &Verifier{Bundle: both})
	if _, _, err := get(ctx, client(t, cfg, false), "https://"+s.addr); err == nil {
		t.Fatal("client of an untrusted CA accepted")
	}
	m.bundle.Set(m.ca.Cert, next.Cert)
	if st, _, err := get(ctx, client(t, cfg, false), "https://"+s.addr); err != nil || st != 200 {
		t.Fatalf("after bundle update: %d %v", st, err)
	}
}

func TestListenErrors(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	if _, err := Listen(inner, ModeStrict, nil, 0); err == nil {
		t.Error("STRICT without a config")
	}
	if _, err := Listen(inner, "MUTUAL", nil, 0); err == nil {
		t.Error("unknown mode")
	}
	for in, want := range map[string]Mode{"strict": ModeStrict, "Permissive": ModePermissive, "DISABLE": ModeDisable} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseMode("UNSET"); err == nil {
		t.Error("ParseMode(UNSET) accepted")
	}
}

func TestPermissiveDropsSilentConnections(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := newMesh(t)
	l, err := Listen(inner, ModePermissive, m.serverTLS(), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	silent, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// The silent connection is closed by the listener after the sniff
	// timeout; a read on it then ends.
	silent.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Fatal("read data from a connection the listener should have dropped")
	}
	// A connection that does speak is still accepted.
	talker, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer talker.Close()
	talker.Write([]byte("GET / HTTP/1.1\r\n"))
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "GET" {
		t.Fatalf("first bytes %q, %v", buf, err)
	}
	c.Close()
}

func TestPermissiveCloseWithPendingConnections(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen(inner, ModePermissive, newMesh(t).serverTLS(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer pending.Close()
	// Close must not wait for the pending connection's first byte (goleak
	// in TestMain checks that nothing is left behind).
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Accept(); err == nil {
		t.Fatal("Accept after Close")
	}
}

func mustID(t *testing.T, s string) spiffeid.ID {
	t.Helper()
	id, err := spiffeid.FromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestHTTP2 checks that the server config negotiates h2 by ALPN with a
// client that offers it.
func TestHTTP2(t *testing.T) {
	m := newMesh(t)
	s := startServer(t, ModeStrict, m.serverTLS(), whoami)
	tr := &http.Transport{TLSClientConfig: m.clientTLS(nil), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + s.addr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s", resp.Proto)
	}
}
