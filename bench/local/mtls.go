package local

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/mtls"
	"github.com/meshbench/meshbench/scenarios"
)

// trustDomain is the SPIFFE trust domain of a run's mesh.
const trustDomain = "meshbench.local"

// meshTLS is a run's mutual TLS (policy.security.mtls): a certificate
// authority made for the run (proxy/mtls), one SPIFFE identity per
// workload — the gateway, and each replica, which its sidecar shares as
// Istio's sidecars share their pod's — and the renewal of every
// certificate every rotateEvery. The replicas' listeners take the mode
// (STRICT, PERMISSIVE); the gateway's and the sidecars' clusters speak
// mutual TLS to them, and verify that the server is in the trust domain.
//
// On each renewal new handshakes present the new certificates, and the
// proxies then close their idle upstream connections (the connections
// with a try in flight finish it and go back to the pool), so that no
// pooled connection outlives the certificate it was made with: the next
// tries open new connections and handshake. The simulator models the same
// (sim/hopcost.go).
type meshTLS struct {
	mode   mtls.Mode
	ca     *mtls.CA
	bundle *mtls.Bundle
	ttl    time.Duration
	every  time.Duration

	mu       sync.Mutex
	rotators []*mtls.Rotator
	idle     []func() // CloseIdleConnections of every cluster transport

	rotations atomic.Int64 // renewals of the whole mesh so far
	stop      context.CancelFunc
	done      sync.WaitGroup
}

// newMeshTLS is the mutual TLS of pol; nil when pol has none.
func newMeshTLS(pol *scenarios.Policy) (*meshTLS, error) {
	if !pol.MTLSOn() {
		return nil, nil
	}
	m := pol.Security.MTLS
	mode, err := mtls.ParseMode(m.Mode)
	if err != nil {
		return nil, err
	}
	ca, err := mtls.NewCA(mtls.CAOptions{TrustDomain: trustDomain, CommonName: "meshbench run CA", Now: time.Now()})
	if err != nil {
		return nil, fmt.Errorf("mtls: %w", err)
	}
	return &meshTLS{mode: mode, ca: ca, bundle: ca.Bundle(), ttl: m.CertTTL, every: m.RotateEvery}, nil
}

// identity issues the SVID of a workload, spiffe://meshbench.local/ns/<ns>/sa/<service>,
// and keeps it renewed.
func (t *meshTLS) identity(ns, service string) (*mtls.Source, error) {
	id, err := spiffeid.FromSegments(spiffeid.RequireTrustDomainFromString(trustDomain), "ns", ns, "sa", service)
	if err != nil {
		return nil, fmt.Errorf("mtls: identity of %s: %w", service, err)
	}
	iss := &mtls.CAIssuer{CA: t.ca, ID: id, TTL: t.ttl}
	svid, err := iss.Issue(time.Now())
	if err != nil {
		return nil, fmt.Errorf("mtls: %w", err)
	}
	src := mtls.NewSource(svid)
	t.mu.Lock()
	t.rotators = append(t.rotators, mtls.NewRotator(src, iss, mtls.RotationPolicy{}))
	t.mu.Unlock()
	return src, nil
}

func (t *meshTLS) verifier() *mtls.Verifier {
	return &mtls.Verifier{Bundle: t.bundle, Authorize: mtls.AuthorizeMemberOf(spiffeid.RequireTrustDomainFromString(trustDomain))}
}

// listen puts a replica's listener under the mode: it serves HTTP/1.1
// over TLS, or HTTP/2 for a gRPC service, as it serves them in plaintext.
func (t *meshTLS) listen(ln net.Listener, src *mtls.Source, h2 bool) (net.Listener, error) {
	cfg := mtls.ServerConfig(src, t.verifier())
	cfg.NextProtos = []string{"http/1.1"}
	if h2 {
		cfg.NextProtos = []string{"h2"}
	}
	return mtls.Listen(ln, t.mode, cfg, 0)
}

// proxyOptions make a proxy's clusters (all of protocol https) speak
// mutual TLS as src, and register their transports for the renewals.
// wrap, when set, wraps each cluster's transport as WithTransport does.
func (t *meshTLS) proxyOptions(src *mtls.Source, wrap func(cluster string, next http.RoundTripper) (http.RoundTripper, error)) []proxy.Option {
	return []proxy.Option{
		// One config per cluster: a transport completes its config's
		// NextProtos in place.
		proxy.WithClusterTLS(func(string) (*tls.Config, error) { return mtls.ClientConfig(src, t.verifier()), nil }),
		proxy.WithTransport(func(cluster string, next http.RoundTripper) (http.RoundTripper, error) {
			if c, ok := next.(interface{ CloseIdleConnections() }); ok {
				t.mu.Lock()
				t.idle = append(t.idle, c.CloseIdleConnections)
				t.mu.Unlock()
			}
			if wrap != nil {
				return wrap(cluster, next)
			}
			return next, nil
		}),
	}
}

// start renews every certificate every rotateEvery until close.
func (t *meshTLS) start() {
	ctx, cancel := context.WithCancel(context.Background())
	t.stop = cancel
	t.done.Go(func() {
		tick := time.NewTicker(t.every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			t.rotate(time.Now())
		}
	})
}

// rotate renews every certificate at now, then closes the idle upstream
// connections, which were made with the old ones.
func (t *meshTLS) rotate(now time.Time) {
	t.mu.Lock()
	rotators, idle := t.rotators, t.idle
	t.mu.Unlock()
	for _, r := range rotators {
		_ = r.Rotate(now) // a failure keeps the current certificate, valid for certTtl
	}
	t.rotations.Add(1)
	for _, f := range idle {
		f()
	}
}

// close stops the renewals.
func (t *meshTLS) close() {
	if t.stop != nil {
		t.stop()
	}
	t.done.Wait()
}

// gatewayOptions are the gateway's proxyOptions, under an identity of its
// own.
func (t *meshTLS) gatewayOptions(wrap func(cluster string, next http.RoundTripper) (http.RoundTripper, error)) ([]proxy.Option, error) {
	src, err := t.identity("edge", "gateway")
	if err != nil {
		return nil, err
	}
	return t.proxyOptions(src, wrap), nil
}

// secure sets up the run's mutual TLS, when the policy has it: an identity
// for every replica, and its listener under the mode.
func (e *env) secure() error {
	t, err := newMeshTLS(e.pol)
	if t == nil || err != nil {
		return err
	}
	e.tls = t
	for _, s := range e.services {
		for _, r := range s.reps {
			if r.external {
				return fmt.Errorf("mtls: replica %s runs elsewhere and serves plaintext; mutual TLS needs the in-process fleet", r.name)
			}
			if r.src, err = t.identity("mesh", s.spec.Name); err != nil {
				return err
			}
			r.tls = t
		}
	}
	return nil
}

// auditClient is how the audit reads the ledger replicas: in plaintext
// (nil, the fleet's own client), or under mutual TLS as a workload of the
// mesh with an identity of its own.
func (e *env) auditClient() (*http.Client, string, error) {
	if e.tls == nil {
		return nil, "http://", nil
	}
	src, err := e.tls.identity("ops", "audit")
	if err != nil {
		return nil, "", err
	}
	cfg := mtls.ClientConfig(src, e.tls.verifier())
	cfg.NextProtos = []string{"http/1.1"}
	return &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: cfg, DisableKeepAlives: true}}, "https://", nil
}
