package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/discovery"
)

func digest(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// registryProxy is a proxy with the registry on and adminAccess acc.
func registryProxy(t *testing.T, acc config.AdminAccessConfig, opts ...Option) *Proxy {
	t.Helper()
	cfg := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(deadAddr(t))}, config.Policy{})
	cfg.Registry.Enabled = true
	cfg.AdminAccess = acc
	p, err := New(cfg, append([]Option{quiet(t), WithSeed(1)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// TestAdminRegistryWrites: with adminAccess, register, heartbeat and
// deregister need a configured token (by digest or by file) or an allowed
// peer; reads stay open; every decision is counted.
func TestAdminRegistryWrites(t *testing.T) {
	tokFile := writeFile(t, "token", "  file-token\n")
	// peerHook stands in for proxy/secure's: the peer is named by a test
	// header and allowed when it is in allow.
	peerHook := func(r *http.Request, allow []string) (string, bool) {
		id := r.Header.Get("X-Test-Peer")
		for _, a := range allow {
			if id != "" && a == id {
				return id, true
			}
		}
		return id, false
	}
	p := registryProxy(t, config.AdminAccessConfig{
		Tokens: []config.AdminTokenConfig{
			{Name: "fleet", SHA256: digest("s3cret-fleet")},
			{Name: "ci", SHA256: "sha256:" + digest("s3cret-ci")}, // as meshbench ca hash-key prints it
			{Name: "ops", File: tokFile},
		},
		AllowSpiffeIDs: []string{"spiffe://mesh.local/ns/pay/sa/payments"},
	}, WithAdminTLS(nil, peerHook))
	srv := httptest.NewServer(p.AdminHandler())
	defer srv.Close()
	ctx := context.Background()
	inst := discovery.Instance{Endpoint: discovery.Endpoint{ID: "a", Address: "127.0.0.1:9"}, TTL: time.Minute}

	type call struct {
		name   string
		token  string
		peer   string
		status int // of the register; 0 means allowed
		reason string
	}
	for _, c := range []call{
		{name: "no token", status: 401, reason: AdminMissingCredentials},
		{name: "wrong token", token: "s3cret-flee", status: 401, reason: AdminInvalidToken},
		{name: "digest given as token", token: digest("s3cret-fleet"), status: 401, reason: AdminInvalidToken},
		{name: "disallowed peer", peer: "spiffe://mesh.local/ns/edge/sa/gateway", status: 403, reason: AdminPeerNotAllowed},
		{name: "right token", token: "s3cret-fleet", reason: AdminToken},
		{name: "token from file", token: "file-token", reason: AdminToken},
		{name: "token with a prefixed digest", token: "s3cret-ci", reason: AdminToken},
		{name: "allowed peer", peer: "spiffe://mesh.local/ns/pay/sa/payments", reason: AdminPeer},
	} {
		t.Run(c.name, func(t *testing.T) {
			series := `meshbench_proxy_admin_decisions_total{decision="allowed",reason="` + c.reason + `"}`
			if c.status != 0 {
				series = strings.Replace(series, "allowed", "refused", 1)
			}
			before := max(metricValue(t, p, series), 0)
			hc := &http.Client{Transport: headerTransport{"X-Test-Peer": c.peer}}
			cl := &discovery.Client{BaseURL: srv.URL + "/registry", HTTP: hc, Token: c.token}
			_, regErr := cl.Register(ctx, "pay", inst)
			hbErr := cl.Heartbeat(ctx, "pay", "a")
			deErr := cl.Deregister(ctx, "pay", "a")
			for op, err := range map[string]error{"register": regErr, "heartbeat": hbErr, "deregister": deErr} {
				switch {
				case c.status == 0 && err != nil:
					t.Errorf("%s: %v", op, err)
				case c.status != 0 && (err == nil || !strings.Contains(err.Error(), "status "+strconv.Itoa(c.status))):
					t.Errorf("%s: %v, want status %d", op, err, c.status)
				}
			}
			if got := metricValue(t, p, series) - before; got != 3 {
				t.Errorf("%s grew by %v, want 3", series, got)
			}
			// Reads stay open.
			if _, err := (&discovery.Client{BaseURL: srv.URL + "/registry"}).List(ctx, "pay"); err != nil {
				t.Errorf("list without credentials: %v", err)
			}
		})
	}
	// The refused writes changed nothing: only the allowed ones registered.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/registry/v1/services/pay/instances", strings.NewReader(`{"address":"127.0.0.1:9"}`))
	req.Header.Set("Authorization", "bearer s3cret-fleet") // scheme case-insensitive
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("lower-case bearer scheme: %d", resp.StatusCode)
	}
}

// TestAdminRegistryOpenOnLoopback: without adminAccess the registry takes
// writes as before, counted as open.
func TestAdminRegistryOpenOnLoopback(t *testing.T) {
	p := registryProxy(t, config.AdminAccessConfig{})
	srv := httptest.NewServer(p.AdminHandler())
	defer srv.Close()
	cl := &discovery.Client{BaseURL: srv.URL + "/registry"}
	if _, err := cl.Register(context.Background(), "pay", discovery.Instance{Endpoint: discovery.Endpoint{Address: "127.0.0.1:9"}}); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, p, `meshbench_proxy_admin_decisions_total{decision="allowed",reason="open"}`); got != 1 {
		t.Errorf("open decisions %v, want 1", got)
	}
}

// TestAdminAccessBuild: token files are read at New and their problems,
// like peers without a way to identify them, name the key.
func TestAdminAccessBuild(t *testing.T) {
	for _, tc := range []struct {
		name string
		acc  config.AdminAccessConfig
		want string
	}{
		{"missing file", config.AdminAccessConfig{Tokens: []config.AdminTokenConfig{{Name: "a", File: "/nonexistent/token"}}},
			"adminAccess.tokens[0].file: open /nonexistent/token"},
		{"empty file", config.AdminAccessConfig{Tokens: []config.AdminTokenConfig{{Name: "a", File: writeFile(t, "empty", "\n")}}},
			"adminAccess.tokens[0].file: "},
		{"peers without the security layer", config.AdminAccessConfig{AllowSpiffeIDs: []string{"spiffe://mesh.local/*"}},
			"adminAccess.allowSpiffeIds: mutual TLS peers need the security layer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(deadAddr(t))}, config.Policy{})
			cfg.AdminAccess = tc.acc
			_, err := New(cfg, quiet(t))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want %q", err, tc.want)
			}
		})
	}
}

// fakeListener has an address and no connections.
type fakeListener struct {
	addr   net.Addr
	closed chan struct{}
}

func (l *fakeListener) Accept() (net.Conn, error) { <-l.closed; return nil, net.ErrClosed }
func (l *fakeListener) Close() error {
	select {
	case <-l.closed:
	default:
		close(l.closed)
	}
	return nil
}
func (l *fakeListener) Addr() net.Addr { return l.addr }

// TestServeAdminRefusesNonLoopback: an open admin API is not served off
// loopback; with adminAccess it is.
func TestServeAdminRefusesNonLoopback(t *testing.T) {
	off := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 9901}
	p := registryProxy(t, config.AdminAccessConfig{})
	ln := &fakeListener{addr: off, closed: make(chan struct{})}
	refused := make(chan error, 1)
	go func() { refused <- p.ServeAdmin(ln) }()
	var err error
	select {
	case err = <-refused:
	case <-time.After(10 * time.Second):
		_ = p.Shutdown(context.Background())
		t.Fatalf("ServeAdmin served an open admin API off loopback (%v)", <-refused)
	}
	var ce *config.ConfigError
	if !errors.As(err, &ce) || ce.Path != "admin" || !strings.Contains(err.Error(), "not on loopback") {
		t.Fatalf("ServeAdmin off loopback: %v", err)
	}
	select {
	case <-ln.closed:
	default:
		t.Error("the refused listener was not closed")
	}
	if got := metricValue(t, p, `meshbench_proxy_admin_decisions_total{decision="refused",reason="non_loopback_listener"}`); got != 1 {
		t.Errorf("refusals counted %v, want 1", got)
	}

	guarded := registryProxy(t, config.AdminAccessConfig{Tokens: []config.AdminTokenConfig{{Name: "a", SHA256: digest("x")}}})
	ln = &fakeListener{addr: off, closed: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- guarded.ServeAdmin(ln) }()
	if err := guarded.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("ServeAdmin with adminAccess: %v, want it served until shutdown", err)
	}
}

// headerTransport sets headers on every request.
type headerTransport map[string]string

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestAdminAccessReload: adminAccess follows reloads (token files are read
// again), and an open API refuses writes that arrive off loopback, as when
// a reload dropped adminAccess under a listener bound elsewhere.
func TestAdminAccessReload(t *testing.T) {
	p := registryProxy(t, config.AdminAccessConfig{})
	body := `{"address":"127.0.0.1:9"}`
	post := func(local net.Addr, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/registry/v1/services/pay/instances", strings.NewReader(body))
		if local != nil {
			req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, local))
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		p.AdminHandler().ServeHTTP(rec, req)
		return rec
	}
	loop, off := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9901}, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 9901}
	if rec := post(loop, ""); rec.Code != http.StatusCreated {
		t.Fatalf("open write on loopback: %d", rec.Code)
	}
	if rec := post(off, ""); rec.Code != http.StatusForbidden || rec.Header().Get(HeaderReason) != AdminNonLoopback {
		t.Errorf("open write off loopback: %d %q", rec.Code, rec.Header().Get(HeaderReason))
	}

	cfg := p.Config()
	cfg.AdminAccess = config.AdminAccessConfig{Tokens: []config.AdminTokenConfig{{Name: "ops", File: writeFile(t, "token", "one")}}}
	if err := p.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if rec := post(loop, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("write without token after the reload: %d", rec.Code)
	}
	if rec := post(off, "one"); rec.Code != http.StatusCreated {
		t.Errorf("write with the token off loopback: %d", rec.Code)
	}
	if err := os.WriteFile(cfg.AdminAccess.Tokens[0].File, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if rec := post(loop, "one"); rec.Code != http.StatusUnauthorized {
		t.Errorf("the old token after the file changed: %d", rec.Code)
	}
	if rec := post(loop, "two"); rec.Code != http.StatusCreated {
		t.Errorf("the new token: %d", rec.Code)
	}
}

// TestAdminConfigRedacted: /config shows the configuration with its
// secrets redacted (config.Redacted has the field-by-field test), and the
// proxy keeps using the real values.
func TestAdminConfigRedacted(t *testing.T) {
	var seen map[string]any
	pass := func(_ string, params map[string]any) (Middleware, error) {
		seen = params
		return func(h http.Handler) http.Handler { return h }, nil
	}
	cfg := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(deadAddr(t))}, config.Policy{
		Middlewares: []config.MiddlewareConfig{{Name: "check", Params: map[string]any{"apiKey": "k-MARK", "header": "X-Api-Key"}}},
	})
	cfg.Routes[0].Match.Headers = []config.HeaderMatchConfig{{Name: "Authorization", Exact: "Bearer MARK"}}
	cfg.AdminAccess.Tokens = []config.AdminTokenConfig{{Name: "ops", SHA256: digest("MARK")}}
	p, err := New(cfg, quiet(t), WithMiddleware("check", pass))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	code, body := adminGet(t, p, "/config")
	if code != 200 || strings.Contains(body, "MARK") || strings.Contains(body, digest("MARK")) || strings.Count(body, config.Redacted) != 3 {
		t.Errorf("/config %d:\n%s", code, body)
	}
	if !strings.Contains(body, `"header": "X-Api-Key"`) || !strings.Contains(body, `"name": "Authorization"`) {
		t.Errorf("/config lost what is not secret:\n%s", body)
	}
	if seen["apiKey"] != "k-MARK" || p.Config().Routes[0].Match.Headers[0].Exact != "Bearer MARK" {
		t.Errorf("the proxy's own configuration was redacted: %v", seen)
	}
}
