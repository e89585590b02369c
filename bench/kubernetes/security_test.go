package kubernetes

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/mtls"
	"github.com/meshbench/meshbench/proxy/secure"
	"github.com/meshbench/meshbench/scenarios"
)

// buildProxies builds every proxy configuration of m with the real
// proxy (proxy/secure.ParseFile and New, as `meshbench proxy` does), the
// files of m's Secrets written where their pods mount them (here a
// temporary directory), and returns the parsed configurations by
// ConfigMap name.
func buildProxies(t *testing.T, m *Manifest) map[string]secure.FileConfig {
	t.Helper()
	dir := writeSecrets(t, m)
	out := map[string]secure.FileConfig{}
	for _, cm := range m.ConfigMaps {
		text := strings.ReplaceAll(cm.Data[proxyFile], caMount, filepath.Join(dir, caSecret))
		fc, err := secure.ParseFile(cm.Name+"/"+proxyFile, []byte(text))
		if err != nil {
			t.Fatalf("%s: %v", cm.Name, err)
		}
		sp, err := secure.New(fc.Config, fc.Security, proxy.WithResolver(noDNS{}), proxy.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatalf("%s: %v", cm.Name, err)
		}
		if err := sp.Shutdown(context.Background()); err != nil {
			t.Fatalf("%s: shutdown: %v", cm.Name, err)
		}
		out[cm.Name] = fc
	}
	return out
}

// writeSecrets writes the files of m's Secrets into a temporary
// directory, each Secret in a folder of its name, and returns the
// directory: what the pods mount, here.
func writeSecrets(t *testing.T, m *Manifest) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range m.Secrets {
		d := filepath.Join(dir, s.Name)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		for k, v := range s.Data {
			if err := os.WriteFile(filepath.Join(d, k), v, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestRenderMTLS(t *testing.T) {
	plan := library(t, "mtls-cost")
	strict := slices.IndexFunc(plan.Variants, func(v scenarios.Variant) bool { return v.Name == "strict" })
	if strict < 0 {
		t.Fatal("mtls-cost has no variant strict")
	}
	m := renderOf(t, plan, strict)
	if len(m.Secrets) != 1 || m.Secrets[0].Name != caSecret {
		t.Fatalf("secrets %v, want the run's CA", m.Secrets)
	}
	cfgs := buildProxies(t, m)
	for _, s := range plan.Services {
		in, out := cfgs["proxy-"+s.Name], cfgs["proxy-"+s.Name+"-outbound"]
		if l := in.Security.Listener; l == nil || l.Mode != "STRICT" {
			t.Errorf("%s inbound: listener %+v, want STRICT", s.Name, l)
		}
		if in.Sidecar.Inbound.Listen == "" || len(in.Sidecar.Outbound) != 0 {
			t.Errorf("%s inbound: %+v", s.Name, in.Sidecar)
		}
		if id := in.Security.Identity; id == nil || id.SPIFFEID != "spiffe://meshbench.local/ns/mesh/sa/"+s.Name || id.CADir == "" {
			t.Errorf("%s inbound: identity %+v", s.Name, id)
		}
		if out.Security.Listener != nil || out.Sidecar.Inbound.Listen != "" {
			t.Errorf("%s outbound: listener %+v, inbound %+v: the application calls it in plaintext", s.Name, out.Security.Listener, out.Sidecar.Inbound)
		}
		if len(out.Security.Clusters) != len(out.Clusters) {
			t.Errorf("%s outbound: %d clusters, %d under mutual TLS", s.Name, len(out.Clusters), len(out.Security.Clusters))
		}
		for _, c := range out.Clusters {
			if c.Protocol != config.ProtocolHTTPS {
				t.Errorf("%s outbound: cluster %s protocol %q", s.Name, c.Name, c.Protocol)
			}
		}
		pod := deployment(m, s.Name).Spec.Template.Spec
		var names []string
		for _, c := range pod.Containers {
			names = append(names, c.Name)
			if c.Name == "proxy" || c.Name == outboundName {
				if !slices.ContainsFunc(c.VolumeMounts, func(v corev1.VolumeMount) bool { return v.MountPath == caMount }) {
					t.Errorf("%s: container %s does not mount the CA", s.Name, c.Name)
				}
			}
		}
		if !slices.Equal(names, []string{"paymentsvc", "proxy", outboundName}) {
			t.Errorf("%s: containers %v", s.Name, names)
		}
	}
	gw := cfgs["proxy-"+GatewayName]
	if id := gw.Security.Identity; id == nil || id.SPIFFEID != "spiffe://meshbench.local/ns/edge/sa/gateway" {
		t.Errorf("gateway identity %+v", id)
	}
	if gw.Security.Listener != nil {
		t.Errorf("gateway listener %+v: the agents offer plaintext", gw.Security.Listener)
	}
	if len(gw.Security.Clusters) != len(gw.Clusters) {
		t.Errorf("gateway: %d clusters, %d under mutual TLS", len(gw.Clusters), len(gw.Security.Clusters))
	}
}

// Without mutual TLS (mode DISABLE) nothing changes: no Secret, one
// sidecar per pod.
func TestRenderMTLSDisabled(t *testing.T) {
	plan := library(t, "mtls-cost")
	m := renderOf(t, plan, 0)
	if len(m.Secrets) != 0 {
		t.Fatalf("secrets %v", m.Secrets)
	}
	for _, d := range m.Deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name == outboundName {
				t.Errorf("%s: outbound container without mutual TLS", d.Name)
			}
		}
	}
	buildProxies(t, m)
}

func TestMTLSRenewal(t *testing.T) {
	plan := library(t, "mtls-cost")
	for i, v := range plan.Variants {
		if got := issues(plan.ForVariant(i), i); len(got) > 0 {
			t.Errorf("variant %s refused: %v", v.Name, got)
		}
	}
	// Renewed every rotateEvery after issuance, whatever the backdating.
	for _, tc := range []struct{ ttl, every time.Duration }{{time.Minute, time.Second}, {time.Hour, 30 * time.Minute}} {
		mesh := &meshCA{ttl: tc.ttl, every: tc.every}
		ca, err := mtls.NewCA(mtls.CAOptions{TrustDomain: trustDomain, Now: time.Unix(1e9, 0)})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(1e9+10, 0)
		svid, err := ca.Issue(mtls.IssueRequest{ID: spiffeid.RequireFromString("spiffe://meshbench.local/ns/mesh/sa/x"), TTL: tc.ttl, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		at := mtls.RotationPolicy{RenewFraction: mesh.renewFraction()}.RenewAt(svid.Leaf)
		if d := at.Sub(now) - tc.every; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("ttl %s every %s: renewed %s after issuance", tc.ttl, tc.every, at.Sub(now))
		}
	}
}

// startProxy builds the rendered configuration name of m (its CA files
// from m's Secrets), with every cluster but "local" pointed at upstream
// and "local" at app, and serves its data side (and inbound side, when
// it has one) on loopback. It returns the addresses.
func startProxy(t *testing.T, m *Manifest, name, upstream, app string) (data, inbound string) {
	t.Helper()
	dir := t.TempDir()
	for _, s := range m.Secrets {
		for k, v := range s.Data {
			if err := os.WriteFile(filepath.Join(dir, k), v, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	var text string
	for _, cm := range m.ConfigMaps {
		if cm.Name == name {
			text = strings.ReplaceAll(cm.Data[proxyFile], caMount, dir)
		}
	}
	fc, err := secure.ParseFile(name, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	for i := range fc.Clusters {
		c := &fc.Clusters[i]
		c.Discovery = nil
		c.Endpoints = endpointsOf(upstream)
		if c.Name == "local" {
			c.Endpoints = endpointsOf(app)
		}
	}
	sp, err := secure.New(fc.Config, fc.Security, proxy.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	serve := func(f func(net.Listener) error) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { _ = f(ln) })
		return ln.Addr().String()
	}
	data = serve(sp.Serve)
	if fc.Sidecar.Inbound.Listen != "" {
		inbound = serve(sp.ServeInbound)
	}
	t.Cleanup(func() {
		_ = sp.Shutdown(context.Background())
		wg.Wait()
	})
	return data, inbound
}

// The rendered configurations speak mutual TLS to each other with the
// rendered CA: the gateway and the payments sidecar's outbound side reach
// a replica's inbound side under STRICT, which forwards to the
// application in plaintext; a plaintext client is refused there.
func TestRenderedMTLSHandshakes(t *testing.T) {
	plan := library(t, "mtls-cost")
	strict := slices.IndexFunc(plan.Variants, func(v scenarios.Variant) bool { return v.Name == "strict" })
	m := renderOf(t, plan, strict)

	var hits atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer app.Close()
	appAddr := strings.TrimPrefix(app.URL, "http://")

	_, inbound := startProxy(t, m, "proxy-risk", "", appAddr)
	gw, _ := startProxy(t, m, "proxy-"+GatewayName, inbound, "")
	out, _ := startProxy(t, m, "proxy-payments-outbound", inbound, "")

	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	do := func(method, url string) (int, error) {
		req, err := http.NewRequest(method, url, strings.NewReader("{}"))
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := do(http.MethodPost, "http://"+gw+"/v1/payments"); err != nil || code != http.StatusOK {
		t.Fatalf("through the gateway: %d, %v", code, err)
	}
	if code, err := do(http.MethodPost, "http://"+out+"/risk/v1/score"); err != nil || code != http.StatusOK {
		t.Fatalf("through the payments sidecar: %d, %v", code, err)
	}
	if got := hits.Load(); got != 2 {
		t.Fatalf("the application saw %d requests, want 2", got)
	}
	if code, err := do(http.MethodGet, "http://"+inbound+"/"); err == nil && code == http.StatusOK {
		t.Fatalf("plaintext to a STRICT inbound side answered %d", code)
	}
	if got := hits.Load(); got != 2 {
		t.Fatalf("plaintext reached the application")
	}
}

func TestRenderMTLSPermissive(t *testing.T) {
	plan := library(t, "mtls-cost")
	strict := slices.IndexFunc(plan.Variants, func(v scenarios.Variant) bool { return v.Name == "strict" })
	p := plan.ForVariant(strict)
	sec := *p.Variants[strict].Policy.Security
	m := *sec.MTLS
	m.Mode = scenarios.MTLSPermissive
	sec.MTLS = &m
	p.Variants[strict].Policy.Security = &sec
	man, err := Render(p, strict, 7, RenderOptions{Namespace: "meshbench-test", RunID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cfgs := buildProxies(t, man)
	if l := cfgs["proxy-ledger"].Security.Listener; l == nil || l.Mode != scenarios.MTLSPermissive {
		t.Errorf("ledger inbound listener %+v, want PERMISSIVE", l)
	}
}

// Mutual TLS over a gRPC service's cluster builds too (HTTP/2 by ALPN).
func TestRenderMTLSGRPC(t *testing.T) {
	plan := library(t, "grpc-vs-http")
	built := 0
	for i := range plan.Variants {
		p := plan.ForVariant(i)
		p.Variants[i].Policy.Security = &scenarios.Security{MTLS: &scenarios.MTLS{Mode: scenarios.MTLSStrict, CertTTL: time.Hour, RotateEvery: 30 * time.Minute}}
		if is := issues(p, i); len(is) > 0 {
			continue
		}
		m, err := Render(p, i, 7, RenderOptions{Namespace: "meshbench-test", RunID: "test"})
		if err != nil {
			t.Fatalf("variant %s: %v", plan.Variants[i].Name, err)
		}
		buildProxies(t, m)
		built++
	}
	if built == 0 {
		t.Fatal("every variant refused")
	}
}
