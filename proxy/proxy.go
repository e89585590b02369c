package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/proxy/h1"
	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// ErrClosed is returned by Reload after Shutdown.
var ErrClosed = errors.New("proxy: shut down")

// Proxy is meshbench's L7 data plane, usable as a library: a gateway that
// routes by host, path, method and headers, or a sidecar that forwards by
// service name, over clusters whose endpoints come from discovery and whose
// policies are the pure state machines of proxy/balancer, proxy/ratelimit,
// proxy/breaker, proxy/outlier, proxy/retry and proxy/health.
//
// A Proxy serves any number of listeners (Serve, ServeInbound, ServeAdmin or
// the handlers directly), applies a new configuration atomically with Reload
// and drains gracefully with Shutdown.
type Proxy struct {
	opts   options
	env    *env
	access *slog.Logger // nil unless WithAccessLog
	stdout *slog.Logger // access log when only accessLog.enabled is set
	store  *discovery.Store
	seed   uint64
	seq    atomic.Uint64
	rngs   sync.Pool

	mu       sync.Mutex // serialises Reload, Shutdown and server registration
	snap     atomic.Pointer[snapshot]
	servers  map[server]struct{}
	shut     bool
	ready    atomic.Bool
	retiring sync.WaitGroup

	data, inbound, admin http.Handler
	// edge terminates TLS on the primary listener with the tls section's
	// certificates; nil without one.
	edge *edgeTLS
}

// env is what routes and clusters share with the Proxy.
type env struct {
	log     *slog.Logger
	metrics *metrics
	events  func(Event)
	// decisions, when not nil, hears every lifecycle event (WithDecisions).
	decisions func(lifecycle.Event)
}

func (e *env) event(ev Event) {
	e.log.Info("proxy event", "kind", ev.Kind, "cluster", ev.Cluster, "endpoint", ev.Endpoint, "up", ev.Up, "detail", ev.Detail)
	if e.events != nil {
		e.events(ev)
	}
}

// New builds a Proxy from cfg: it validates the whole configuration (every
// problem is reported, as *config.ConfigError values joined), resolves the
// clusters' endpoints and starts their discovery watches, outlier sweeps and
// health checks. It does not listen; see Serve and Run.
func New(cfg config.Config, opts ...Option) (*Proxy, error) {
	p := &Proxy{servers: map[server]struct{}{}}
	for _, o := range opts {
		o(&p.opts)
	}
	log := p.opts.log
	if log == nil {
		log = slog.Default()
	}
	reg := p.opts.registry
	if reg == nil {
		reg = newRegistry()
	}
	p.seed = p.opts.seed
	if !p.opts.seeded {
		p.seed = rand.Uint64()
	}
	p.env = &env{log: log, events: p.opts.events, decisions: p.opts.decisions}
	p.env.metrics = newMetrics(reg, p.clusters)
	if p.opts.accessLog != nil {
		p.access = slog.New(slog.NewJSONHandler(p.opts.accessLog, nil))
	}
	p.stdout = slog.New(slog.NewJSONHandler(os.Stdout, nil))

	b := &builder{env: p.env, opts: &p.opts, seed: p.seed}
	s, err := b.build(cfg)
	if err != nil {
		return nil, err
	}
	p.store = discovery.NewStore(s.cfg.Registry.DefaultTTL.D())
	p.snap.Store(s)
	if s.tls != nil {
		p.edge = newEdgeTLS(s.tls, log)
	}
	for _, c := range b.fresh {
		c.start()
	}
	p.data = p.wrap(&entry{p: p})
	p.inbound = p.wrap(&entry{p: p, inbound: true})
	p.admin = p.adminHandler()
	p.ready.Store(true)
	return p, nil
}

// wrap puts the handler middlewares given with WithHandlerMiddleware around
// an entry.
func (p *Proxy) wrap(e *entry) http.Handler {
	if len(p.opts.handlerMWs) == 0 {
		return e
	}
	var h http.Handler = http.HandlerFunc(e.serveFromContext)
	for i := len(p.opts.handlerMWs) - 1; i >= 0; i-- {
		h = p.opts.handlerMWs[i](h)
	}
	e.chain = h
	return e
}

// Handler returns the data-plane handler: the gateway, or the sidecar's
// outbound side.
func (p *Proxy) Handler() http.Handler { return p.data }

// InboundHandler returns the sidecar's inbound handler, which forwards
// everything to sidecar.inbound.cluster (404 when none is configured).
func (p *Proxy) InboundHandler() http.Handler { return p.inbound }

// AdminHandler returns the admin API: /metrics, /config, /clusters, /ready
// and, when enabled, /registry/.
func (p *Proxy) AdminHandler() http.Handler { return p.admin }

// Registry returns the discovery registry served under /registry/ on the
// admin handler when registry.enabled is set.
func (p *Proxy) Registry() *discovery.Store { return p.store }

// Config returns the configuration in effect, with defaults applied.
func (p *Proxy) Config() config.Config { return p.snap.Load().cfg }

// Reload applies cfg without dropping requests: the new routes and
// clusters take every request that starts after Reload returns, requests in
// flight finish on the configuration they started with, and clusters whose
// configuration is unchanged are kept as they are (connections, health,
// ejections, balancer state). An invalid cfg is refused with the same errors
// New reports and the running configuration keeps serving. Listener
// addresses and server timeouts apply to listeners started afterwards; the
// tls section's files are read again and take the handshakes after Reload
// returns (connections already open keep theirs), but the section cannot be
// added or removed.
func (p *Proxy) Reload(cfg config.Config) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shut {
		return ErrClosed
	}
	old := p.snap.Load()
	edgeOn := p.edge != nil
	b := &builder{env: p.env, opts: &p.opts, reuse: old.clusters, seed: p.seed, edgeTLS: &edgeOn}
	s, err := b.build(cfg)
	if err != nil {
		p.RecordRefusedReload(err)
		return fmt.Errorf("reload refused: %w", err)
	}
	p.snap.Store(s)
	if s.tls != nil {
		p.edge.use(s.tls) // its files read again: rotated certificates
	}
	for _, c := range b.fresh {
		c.start()
	}
	var retired []*cluster
	for name, c := range old.clusters {
		if s.clusters[name] != c {
			retired = append(retired, c)
		}
	}
	p.retire(old, retired)
	p.env.metrics.reloads.WithLabelValues("applied").Inc()
	p.env.event(Event{Time: time.Now(), Kind: EventReload, Up: true, Detail: "applied"})
	return nil
}

// RecordRefusedReload counts and reports a reload refused for err as
// Reload does its own refusals (meshbench_proxy_reloads_total with result
// refused, and an EventReload): for layers that refuse a configuration
// before it reaches Reload, as proxy/secure refuses a changed security
// section.
func (p *Proxy) RecordRefusedReload(err error) {
	p.env.metrics.reloads.WithLabelValues("refused").Inc()
	p.env.event(Event{Time: time.Now(), Kind: EventReload, Detail: "refused: " + err.Error()})
}

// ReloadFile loads a configuration file and applies it with Reload.
func (p *Proxy) ReloadFile(path string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	return p.Reload(cfg)
}

// retire drops a snapshot's own reference and, once its last request has
// finished, closes the clusters no newer snapshot uses. Closing a cluster
// stops its background work and idle connections; a request of an older
// snapshot still using it keeps working.
func (p *Proxy) retire(s *snapshot, clusters []*cluster) {
	p.retiring.Add(1)
	go func() {
		defer p.retiring.Done()
		s.release()
		<-s.drained
		for _, c := range clusters {
			c.close()
		}
	}()
}

// acquire returns the current snapshot with a reference held, or nil after
// Shutdown.
func (p *Proxy) acquire() *snapshot {
	for {
		s := p.snap.Load()
		if s.acquire() {
			return s
		}
		if p.snap.Load() == s {
			return nil
		}
	}
}

func (p *Proxy) clusters() []*cluster {
	if s := p.snap.Load(); s != nil {
		return s.order
	}
	return nil
}

func (p *Proxy) rand() *rand.Rand {
	if r, ok := p.rngs.Get().(*rand.Rand); ok {
		return r
	}
	return rand.New(rand.NewPCG(p.seed, p.seq.Add(1)))
}

// Serve accepts connections on ln and serves the data plane (gateway or
// sidecar outbound) with HTTP/1.1 and, unless server.disableH2C, cleartext
// HTTP/2. With the configuration's tls section it terminates TLS with the
// gateway's certificates, and with WithServerTLS (mutual TLS) otherwise,
// offering h2 by ALPN. It returns http.ErrServerClosed after Shutdown.
func (p *Proxy) Serve(ln net.Listener) error { return p.serve(ln, p.data, true, true) }

// ServeInbound serves the sidecar's inbound side on ln, with
// WithServerTLS's TLS when set.
func (p *Proxy) ServeInbound(ln net.Listener) error { return p.serve(ln, p.inbound, true, false) }

// ServeAdmin serves the admin API on ln (HTTP/1.1; plaintext, or as
// WithAdminTLS's listener has it). Without adminAccess it refuses, with a
// *config.ConfigError at "admin", a TCP listener off loopback.
func (p *Proxy) ServeAdmin(ln net.Listener) error {
	if err := p.checkAdminListener(ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	if p.opts.adminListen != nil {
		wrapped, err := p.opts.adminListen(ln)
		if err != nil {
			ln.Close()
			return err
		}
		ln = wrapped
	}
	return p.serve(ln, p.admin, false, false)
}

// serve serves h on ln: a data listener (data) with the proxy's own
// HTTP/1.1 server and HTTP/2, the primary one (primary) with the tls
// section's TLS when configured; the admin listener with net/http.
func (p *Proxy) serve(ln net.Listener, h http.Handler, data, primary bool) error {
	sc := p.Config().Server
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: sc.ReadHeaderTimeout.D(),
		ReadTimeout:       sc.ReadTimeout.D(),
		WriteTimeout:      sc.WriteTimeout.D(),
		IdleTimeout:       sc.IdleTimeout.D(),
		MaxHeaderBytes:    sc.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(p.env.log.Handler(), slog.LevelDebug),
		// net/http has no per-read body timeout; its HTTP/2 server has the
		// send timeout (a write that makes no progress).
		HTTP2: &http.HTTP2Config{WriteByteTimeout: optDur(sc.SendTimeout)},
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	listen := p.opts.tlsListen
	switch {
	case !data:
	case primary && p.edge != nil:
		// The gateway's own certificates, on a plain TLS listener.
		srv.TLSConfig, listen = p.edge.serverConfig(), nil
	case p.opts.serverTLS != nil:
		// NextProtos as ServeTLS sets them.
		srv.TLSConfig = p.opts.serverTLS.Clone()
		srv.TLSConfig.NextProtos = tlsNextProtos(srv.TLSConfig.NextProtos)
	}
	tlsOn := srv.TLSConfig != nil
	if data && !sc.DisableH2C && !tlsOn {
		protos.SetUnencryptedHTTP2(true)
	}
	if tlsOn {
		protos.SetHTTP2(true)
	}
	srv.Protocols = &protos
	if data && !tlsOn {
		// Plaintext data plane: the proxy's own HTTP/1.1 server, serving
		// h2c connections with HTTP/2.
		return p.track(p.h1Server(h, sc, srv, !sc.DisableH2C), ln)
	}
	if tlsOn {
		// tls.NewListener, as ServeTLS, unless WithTLSListener replaces
		// it.
		if listen == nil {
			listen = newTLSListener
		}
		tln, err := listen(ln, srv.TLSConfig)
		if err != nil {
			ln.Close()
			return err
		}
		// The proxy's own HTTP/1.1 server runs the handshakes and serves
		// connections that choose h2 with HTTP/2.
		return p.track(p.h1Server(h, sc, srv, false), tln)
	}
	return p.track(srv, ln)
}

// newTLSListener is the listener of WithServerTLS without WithTLSListener.
func newTLSListener(ln net.Listener, cfg *tls.Config) (net.Listener, error) {
	return tls.NewListener(ln, cfg), nil
}

// tlsNextProtos offers h2 and http/1.1 by ALPN unless the configuration
// already lists them, as http.Server.ServeTLS does.
func tlsNextProtos(protos []string) []string {
	if !slices.Contains(protos, "h2") {
		protos = append([]string{"h2"}, protos...)
	}
	if !slices.Contains(protos, "http/1.1") {
		protos = append(protos, "http/1.1")
	}
	return protos
}

// h1Server makes the HTTP/1.1 server of a data listener, with the fast
// path when h is an entry without handler middlewares.
func (p *Proxy) h1Server(h http.Handler, sc config.ServerConfig, srv *http.Server, h2c bool) *h1.Server {
	cfg := h1.ServerConfig{
		ReadHeaderTimeout: sc.ReadHeaderTimeout.D(),
		ReadTimeout:       sc.ReadTimeout.D(),
		WriteTimeout:      sc.WriteTimeout.D(),
		IdleTimeout:       sc.IdleTimeout.D(),
		MaxHeaderBytes:    sc.MaxHeaderBytes,
		BodyReadTimeout:   optDur(sc.BodyTimeout),
		SendTimeout:       optDur(sc.SendTimeout),
		Rejected:          p.env.metrics.downstreamRejected,
		H2:                srv,
		H2C:               h2c,
		UniqueFields:      uniqueAnswerFields,
		Log:               p.env.log,
	}
	if n := sc.MaxSlowConnections; n != nil {
		cfg.MaxSlowConns = *n
	}
	if e, ok := h.(*entry); ok && e.chain == nil {
		cfg.Fast, cfg.FastH2 = e.fast, e.fastH2
	}
	return h1.NewServer(h, cfg)
}

// uniqueAnswerFields are the answer fields whose values the proxy makes
// differ on every answer: HTTP/2 sends them without indexing.
var uniqueAnswerFields = []string{strings.ToLower(HeaderRequestID)}

// optDur is an optional duration of the configuration; nil (absent, before
// config.Defaults) is zero.
func optDur(d *config.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.D()
}

// server is what serves a listener: http.Server or h1.Server.
type server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// track serves ln with srv until Shutdown, which waits for it.
func (p *Proxy) track(srv server, ln net.Listener) error {
	p.mu.Lock()
	if p.shut {
		p.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	p.servers[srv] = struct{}{}
	p.mu.Unlock()
	return srv.Serve(ln)
}

// Shutdown stops the listeners, waits for requests in flight to finish (up
// to ctx), then stops discovery, health checks and outlier sweeps and closes
// idle upstream connections. Serve calls return http.ErrServerClosed.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.shut {
		p.mu.Unlock()
		return nil
	}
	p.shut = true
	p.ready.Store(false)
	servers := make([]server, 0, len(p.servers))
	for srv := range p.servers {
		servers = append(servers, srv)
	}
	cur := p.snap.Load()
	p.mu.Unlock()

	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Go(func() { errs[i] = srv.Shutdown(ctx) })
	}
	wg.Wait()
	p.retire(cur, cur.order)
	done := make(chan struct{})
	go func() {
		p.retiring.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("shutdown: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// Run listens on the configured addresses (listen, admin, and
// sidecar.inbound.listen), serves until ctx is done, then shuts down
// gracefully within server.shutdownTimeout. It is what `meshbench proxy
// --config FILE` runs.
func (p *Proxy) Run(ctx context.Context) error {
	cfg := p.Config()
	type svc struct {
		addr  string
		serve func(net.Listener) error
	}
	svcs := []svc{{cfg.Listen, p.Serve}}
	if cfg.Admin != "" {
		svcs = append(svcs, svc{cfg.Admin, p.ServeAdmin})
	}
	if cfg.Mode == config.ModeSidecar && cfg.Sidecar.Inbound.Listen != "" {
		svcs = append(svcs, svc{cfg.Sidecar.Inbound.Listen, p.ServeInbound})
	}
	var lns []net.Listener
	for _, s := range svcs {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("listen %s: %w", s.addr, err)
		}
		lns = append(lns, ln)
		p.env.log.Info("proxy listening", "addr", ln.Addr().String())
	}
	errc := make(chan error, len(svcs))
	for i, s := range svcs {
		go func() { errc <- s.serve(lns[i]) }()
	}
	var first error
	select {
	case <-ctx.Done():
	case err := <-errc:
		first = err
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
	defer cancel()
	err := p.Shutdown(sctx)
	for range len(svcs) - boolInt(first != nil) {
		if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && first == nil {
			first = e
		}
	}
	if first != nil && !errors.Is(first, http.ErrServerClosed) {
		return errors.Join(first, err)
	}
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
