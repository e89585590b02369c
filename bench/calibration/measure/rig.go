package measure

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/cache"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/mtls"
	"github.com/meshbench/meshbench/scenarios"
)

// rig is what the phases measure against, all in this process on
// 127.0.0.1: a fleet replica (role risk) served in plain text, the same
// replica's handler behind mutual TLS, a minimal server (rawServer) for the
// load side's own cost, and proxies in front of the replica: one whose
// route the fast path serves, one forced onto the general path (its
// cluster's transport wrapped, as bench/local's gateway wraps it to count
// tries), one whose cluster speaks mutual TLS to the TLS replica, one
// speaking gRPC (h2c), and one whose route answers from a response cache.
type rig struct {
	replica, tlsReplica string // addresses
	fast, general, mtls string // proxies' addresses
	raw                 string // rawServer's address
	hit                 string // a proxy whose route answers from its response cache
	payments            string // payments, calling risk, fraud and ledger directly
	grpc                string // a proxy whose cluster speaks gRPC (h2c) to the replica

	// tlsServer and tlsClient are the replica's and the gateway's mutual
	// TLS configurations (SVIDs of the rig's CA), for the handshake's CPU.
	tlsServer, tlsClient *tls.Config
	// mtlsIdle closes the mtls proxy's idle connections to the replica.
	mtlsIdle func()
	// hitMisses counts the requests the hit proxy forwarded to the
	// replica: the cache's misses, one per connection at most.
	hitMisses atomic.Int64

	svc     *fleet.Service
	flow    []*fleet.Service
	dir     string
	closers []func()
	proxies []*proxy.Proxy
	lns     []net.Listener
	wg      sync.WaitGroup
}

const trustDomain = "meshbench.local"

func startRig(serviceTime time.Duration) (*rig, error) {
	r := &rig{}
	if err := r.start(serviceTime); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *rig) start(serviceTime time.Duration) error {
	spec := scenarios.DistributionSpec{Type: "constant", Value: serviceTime}
	svc, err := fleet.NewService(fleet.Config{Role: fleet.RoleRisk, Name: "risk[0]", Seed: 1, ServiceTime: spec, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	r.svc = svc
	if r.replica, err = r.serve(nil, svc.Serve); err != nil {
		return err
	}

	ca, err := mtls.NewCA(mtls.CAOptions{TrustDomain: trustDomain, CommonName: "meshbench calibrate CA", Now: time.Now()})
	if err != nil {
		return err
	}
	td := spiffeid.RequireTrustDomainFromString(trustDomain)
	verifier := &mtls.Verifier{Bundle: ca.Bundle(), Authorize: mtls.AuthorizeMemberOf(td)}
	identity := func(name string) (*mtls.Source, error) {
		id, err := spiffeid.FromSegments(td, "ns", "calibrate", "sa", name)
		if err != nil {
			return nil, err
		}
		svid, err := (&mtls.CAIssuer{CA: ca, ID: id, TTL: time.Hour}).Issue(time.Now())
		if err != nil {
			return nil, err
		}
		return mtls.NewSource(svid), nil
	}
	srvID, err := identity("risk")
	if err != nil {
		return err
	}
	scfg := mtls.ServerConfig(srvID, verifier)
	scfg.NextProtos = []string{"http/1.1"}
	tlsSrv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second}
	r.closers = append(r.closers, func() { _ = tlsSrv.Close() })
	if r.tlsReplica, err = r.serve(func(ln net.Listener) (net.Listener, error) {
		return mtls.Listen(ln, mtls.ModeStrict, scfg, 0)
	}, tlsSrv.Serve); err != nil {
		return err
	}
	r.raw, err = r.serve(nil, serveRaw)
	if err != nil {
		return err
	}
	if err := r.startFlow(spec); err != nil {
		return err
	}

	wrap := proxy.WithTransport(func(_ string, next http.RoundTripper) (http.RoundTripper, error) {
		return roundTripFunc(next.RoundTrip), nil
	})
	if r.fast, err = r.startProxy(r.replica, config.ProtocolHTTP1); err != nil {
		return err
	}
	if r.general, err = r.startProxy(r.replica, config.ProtocolHTTP1, wrap); err != nil {
		return err
	}
	if r.grpc, err = r.startProxy(r.replica, config.ProtocolH2C); err != nil {
		return err
	}
	// The response cache as bench/local's gateway runs it (the same
	// configuration, a middleware that keeps the route on the general
	// path); the hit phase's GET is stored on its first request.
	hit := proxy.WithMiddleware(hitMiddleware, func(string, map[string]any) (proxy.Middleware, error) {
		c, err := cache.New(dataplane.RouteCache(&scenarios.RouteCache{TTL: time.Hour, MaxEntries: 16}))
		if err != nil {
			return nil, err
		}
		return c.Middleware, nil
	})
	misses := proxy.WithTransport(func(_ string, next http.RoundTripper) (http.RoundTripper, error) {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			r.hitMisses.Add(1)
			return next.RoundTrip(req)
		}), nil
	})
	if r.hit, err = r.startProxyWith(r.replica, config.ProtocolHTTP1, hitMiddleware, hit, misses); err != nil {
		return err
	}
	cliID, err := identity("gateway")
	if err != nil {
		return err
	}
	r.tlsServer, r.tlsClient = scfg, mtls.ClientConfig(cliID, verifier)
	clusterTLS := proxy.WithClusterTLS(func(string) (*tls.Config, error) { return mtls.ClientConfig(cliID, verifier), nil })
	// The mutual TLS cluster's transport, whose idle connections
	// connCPU closes before each of its requests.
	idle := proxy.WithTransport(func(_ string, next http.RoundTripper) (http.RoundTripper, error) {
		if c, ok := next.(interface{ CloseIdleConnections() }); ok {
			r.mtlsIdle = c.CloseIdleConnections
		}
		return next, nil
	})
	if r.mtls, err = r.startProxy(r.tlsReplica, config.ProtocolHTTPS, clusterTLS, idle); err != nil {
		return err
	}
	return nil
}

// handshakeCPU is the process CPU of one mutual TLS handshake between the
// gateway's and the replica's SVIDs, both ends (as a hop's new connection
// costs the machine: the proxy's side and the replica's), over n
// handshakes in memory (net.Pipe: no socket's cost in it).
func (r *rig) handshakeCPU(n int) (time.Duration, error) {
	before := processCPU()
	for range n {
		c, s := net.Pipe()
		sc := tls.Server(s, r.tlsServer)
		done := make(chan error, 1)
		go func() { done <- sc.Handshake() }()
		err := tls.Client(c, r.tlsClient).Handshake()
		if serr := <-done; err == nil {
			err = serr
		}
		c.Close()
		s.Close()
		if err != nil {
			return 0, fmt.Errorf("calibrate: mutual TLS handshake: %w", err)
		}
	}
	return (processCPU() - before) / time.Duration(n), nil
}

// connCPU is the process CPU that a try over a new mutual TLS connection
// costs beyond a try over a pooled one, through the mtls proxy to the TLS
// replica: dial and accept, both ends' handshake, the connection's
// goroutines and buffers on both sides, and the close of the connection
// it replaces. That is what a renewal of the certificates (or a cold
// pool) costs the machine per new connection; the handshake alone
// (handshakeCPU, in memory) is only part of it. Sequential tries, in
// rounds of n pooled then n fresh (after n fresh ones to warm up), and
// the median of the rounds' differences, so that a round the machine's
// other tenants disturbed moves nothing; the client's keep-alive
// connection to the proxy is the same in both.
func (r *rig) connCPU(n, rounds int) (time.Duration, error) {
	if r.mtlsIdle == nil {
		return 0, errors.New("calibrate: the mutual TLS proxy's transport is not known")
	}
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	try := func() error {
		resp, err := client.Post("http://"+r.mtls+reqPath, "application/json", strings.NewReader(reqBody))
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode/100 != 2 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		return err
	}
	run := func(fresh bool) (time.Duration, error) {
		before := processCPU()
		for range n {
			if fresh {
				r.mtlsIdle()
			}
			if err := try(); err != nil {
				return 0, fmt.Errorf("calibrate: a try over mutual TLS: %w", err)
			}
		}
		return (processCPU() - before) / time.Duration(n), nil
	}
	if _, err := run(true); err != nil { // warm-up: both ends' pools and caches
		return 0, err
	}
	diffs := make([]time.Duration, 0, rounds)
	for range rounds {
		pooled, err := run(false)
		if err != nil {
			return 0, err
		}
		fresh, err := run(true)
		if err != nil {
			return 0, err
		}
		diffs = append(diffs, fresh-pooled)
	}
	slices.Sort(diffs)
	return diffs[len(diffs)/2], nil
}

// startFlow starts the real payment flow, without proxies: a payments
// replica that calls a risk, a fraud and a ledger replica directly (each
// with the same service time; the ledger's file unsynced, as on the local
// backend).
func (r *rig) startFlow(spec scenarios.DistributionSpec) error {
	urls, err := r.startCallees(spec, "127.0.0.1")
	if err != nil {
		return err
	}
	r.payments, err = r.startReplica(spec, "127.0.0.1", fleet.Config{Role: fleet.RolePayments, Name: "payments[0]", OptionalIdempotencyKey: true,
		RiskURL: urls[fleet.RoleRisk], FraudURL: urls[fleet.RoleFraud], LedgerURL: urls[fleet.RoleLedger]})
	return err
}

// startCallees starts a risk, a fraud and a ledger replica listening on
// host, with the service time spec (the ledger's file unsynced), and
// returns their base URLs by role.
func (r *rig) startCallees(spec scenarios.DistributionSpec, host string) (map[fleet.Role]string, error) {
	if r.dir == "" {
		dir, err := os.MkdirTemp("", "meshbench-calibrate-")
		if err != nil {
			return nil, err
		}
		r.dir = dir
	}
	urls := map[fleet.Role]string{}
	for _, role := range []fleet.Role{fleet.RoleRisk, fleet.RoleFraud, fleet.RoleLedger} {
		cfg := fleet.Config{Role: role, Name: string(role) + "[0]"}
		if role == fleet.RoleLedger {
			cfg.LedgerPath, cfg.LedgerNoSync = filepath.Join(r.dir, fmt.Sprintf("ledger-%d.db", len(r.flow))), true
		}
		addr, err := r.startReplica(spec, host, cfg)
		if err != nil {
			return nil, err
		}
		urls[role] = "http://" + addr
	}
	return urls, nil
}

// startReplica starts a fleet replica of cfg listening on host.
func (r *rig) startReplica(spec scenarios.DistributionSpec, host string, cfg fleet.Config) (string, error) {
	cfg.Seed, cfg.ServiceTime, cfg.Logger = 1, spec, slog.New(slog.DiscardHandler)
	s, err := fleet.NewService(cfg)
	if err != nil {
		return "", err
	}
	r.flow = append(r.flow, s)
	return r.serveOn(host, nil, s.Serve)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// hitMiddleware names the hit proxy's response cache.
const hitMiddleware = "calibrate_cache"

// startProxy starts a proxy with one route to one cluster of one endpoint,
// Envoy's thresholds raised so that nothing is refused.
func (r *rig) startProxy(upstream, protocol string, opts ...proxy.Option) (string, error) {
	return r.startProxyWith(upstream, protocol, "", opts...)
}

// startProxyWith is startProxy with a middleware on the route, by the name
// an option registers it under ("": none).
func (r *rig) startProxyWith(upstream, protocol, middleware string, opts ...proxy.Option) (string, error) {
	mw := ""
	if middleware != "" {
		mw = "\n    middlewares: [{name: " + middleware + "}]"
	}
	y := strings.NewReplacer("{{UP}}", upstream, "{{PROTO}}", protocol, "{{MW}}", mw).Replace(`routes:
  - name: calibrate
    match: {prefix: /}
    cluster: up{{MW}}
clusters:
  - name: up
    protocol: {{PROTO}}
    endpoints: [{address: "{{UP}}"}]
    thresholds: {maxConnections: 100000, maxPending: 100000, maxRequests: 100000}
`)
	cfg, err := config.Parse("calibrate-proxy.yaml", []byte(y))
	if err != nil {
		return "", err
	}
	p, err := proxy.New(cfg, append([]proxy.Option{proxy.WithLogger(slog.New(slog.DiscardHandler)), proxy.WithSeed(1)}, opts...)...)
	if err != nil {
		return "", err
	}
	r.proxies = append(r.proxies, p)
	return r.serve(nil, p.Serve)
}

func (r *rig) serve(wrap func(net.Listener) (net.Listener, error), serve func(net.Listener) error) (string, error) {
	return r.serveOn("127.0.0.1", wrap, serve)
}

// serveOn serves on a free port of host.
func (r *rig) serveOn(host string, wrap func(net.Listener) (net.Listener, error), serve func(net.Listener) error) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	if wrap != nil {
		if ln, err = wrap(ln); err != nil {
			return "", err
		}
	}
	r.lns = append(r.lns, ln)
	r.wg.Go(func() { _ = serve(ln) })
	return addr, nil
}

func (r *rig) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, p := range r.proxies {
		_ = p.Shutdown(ctx)
	}
	for _, ln := range r.lns {
		_ = ln.Close()
	}
	for _, c := range r.closers {
		c()
	}
	for _, s := range r.flow {
		_ = s.Close()
	}
	if r.dir != "" {
		_ = os.RemoveAll(r.dir)
	}
	if r.svc != nil {
		_ = r.svc.Close()
	}
	closeRaw()
	r.wg.Wait()
}

var errNotOK = errors.New("answer not 2xx")

func statusErr(code int) error { return fmt.Errorf("%w: %d", errNotOK, code) }

func isStatus(err error) bool { return errors.Is(err, errNotOK) }
