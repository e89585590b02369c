package proxy

import (
	"cmp"
	"crypto/tls"
	"github.com/meshbench/meshbench/proxy/lifecycle"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshbench/meshbench/proxy/discovery"
)

// Middleware wraps a handler, as net/http middlewares do. Route middlewares
// run after routing and before the route's rate limits, so an
// authentication middleware can refuse a request before it costs a token and
// a cache can answer without reaching the cluster. They may wrap the
// ResponseWriter; the proxy keeps counting what reaches its own.
type Middleware func(http.Handler) http.Handler

// MiddlewareFactory builds a route's middleware from the params given in
// the configuration (decoded YAML; see DecodeParams). route is the route's
// name, for metrics and logs. It is called when a configuration is loaded or
// reloaded; an error refuses the configuration.
type MiddlewareFactory func(route string, params map[string]any) (Middleware, error)

// Option configures a Proxy beyond its Config: the things that are code,
// not configuration.
type Option func(*options)

type options struct {
	log         *slog.Logger
	accessLog   io.Writer
	registry    *prometheus.Registry
	middlewares map[string]MiddlewareFactory
	handlerMWs  []Middleware
	transport   func(cluster string, next http.RoundTripper) (http.RoundTripper, error)
	clusterTLS  func(cluster string) (*tls.Config, error)
	serverTLS   *tls.Config
	tlsListen   func(ln net.Listener, cfg *tls.Config) (net.Listener, error)
	adminListen func(net.Listener) (net.Listener, error)
	adminPeer   AdminPeerFunc
	resolver    discovery.Resolver
	events      func(Event)
	decisions   func(lifecycle.Event)
	seed        uint64
	seeded      bool
	noFastPath  bool // tests: every request takes the general path
}

// WithLogger sets the logger for events and errors (not access logs);
// default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithAccessLog writes JSON access logs to w, whatever accessLog.enabled
// says.
func WithAccessLog(w io.Writer) Option { return func(o *options) { o.accessLog = w } }

// WithMetricsRegistry registers the proxy's metrics in reg instead of a
// registry of its own; AdminHandler's /metrics serves reg.
func WithMetricsRegistry(reg *prometheus.Registry) Option {
	return func(o *options) { o.registry = reg }
}

// WithMiddleware registers a middleware factory under name, for routes'
// middlewares lists (security, fault injection, caching...).
func WithMiddleware(name string, f MiddlewareFactory) Option {
	return func(o *options) {
		if o.middlewares == nil {
			o.middlewares = map[string]MiddlewareFactory{}
		}
		o.middlewares[name] = f
	}
}

// WithHandlerMiddleware wraps the whole data-plane handler (every request,
// before routing, inside panic recovery), e.g. for an audit log or mTLS peer
// checks. The first one given is the outermost.
func WithHandlerMiddleware(mw ...Middleware) Option {
	return func(o *options) { o.handlerMWs = append(o.handlerMWs, mw...) }
}

// WithClusterTLS supplies the client TLS configuration of clusters whose
// protocol is "https" (e.g. SPIFFE mTLS); nil or a nil result means the
// system roots.
func WithClusterTLS(f func(cluster string) (*tls.Config, error)) Option {
	return func(o *options) { o.clusterTLS = f }
}

// WithTransport lets the caller wrap or replace a cluster's transport after
// the proxy has configured it (pool limits, dialer, TLS): the hook for
// instrumentation or a custom dialer. next is the cluster's own client.
func WithTransport(f func(cluster string, next http.RoundTripper) (http.RoundTripper, error)) Option {
	return func(o *options) { o.transport = f }
}

// WithServerTLS makes Serve and ServeInbound terminate TLS with cfg (HTTP/2
// by ALPN); set ClientAuth in cfg for mTLS.
func WithServerTLS(cfg *tls.Config) Option { return func(o *options) { o.serverTLS = cfg } }

// WithTLSListener replaces how Serve and ServeInbound put WithServerTLS's
// configuration on a listener: listen gets the plain listener and the
// server's TLS configuration (NextProtos completed as http.Server.ServeTLS
// does) and returns the listener to serve. The default is tls.NewListener.
// proxy/secure uses it for Istio's PERMISSIVE mode, where one port takes
// TLS and plaintext clients alike.
func WithTLSListener(listen func(ln net.Listener, cfg *tls.Config) (net.Listener, error)) Option {
	return func(o *options) { o.tlsListen = listen }
}

// WithResolver sets the DNS resolver of dns discovery; default
// net.DefaultResolver.
func WithResolver(r discovery.Resolver) Option { return func(o *options) { o.resolver = r } }

// WithEvents calls f for every endpoint change, health transition,
// ejection, breaker transition and reload, synchronously: f must be quick.
func WithEvents(f func(Event)) Option { return func(o *options) { o.events = f } }

// WithDecisions reports every decision of every request's lifecycle — tries
// sent, answers, failures, cancellations, refusals, the answer — and every
// ejection and breaker transition, as they happen: a hook for conformance
// tests and tracing. f is called on the request's goroutine and must be
// quick and safe for concurrent use.
func WithDecisions(f func(lifecycle.Event)) Option { return func(o *options) { o.decisions = f } }

// WithSeed makes the proxy's random choices (weighted splits, balancer
// randomness, jitter, request ids) start from seed, for reproducible tests.
func WithSeed(seed uint64) Option { return func(o *options) { o.seed, o.seeded = seed, true } }

// Settings are what a list of Options sets that a layer built around the
// Proxy needs before New returns: proxy/secure logs where the proxy logs
// and seeds its fault injection from the proxy's seed.
type Settings struct {
	Logger *slog.Logger // WithLogger's logger, or slog.Default()
	Seed   uint64       // WithSeed's seed
	Seeded bool         // whether WithSeed was given
}

// SettingsOf reports the Settings that opts make.
func SettingsOf(opts ...Option) Settings {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return Settings{Logger: cmp.Or(o.log, slog.Default()), Seed: o.seed, Seeded: o.seeded}
}
