package proxy

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/proxy/mtls"
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
	peerMode    mtls.Mode // how the TLS listeners treat plaintext (security.go)
	resolver    discovery.Resolver
	events      func(Event)
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

// WithResolver sets the DNS resolver of dns discovery; default
// net.DefaultResolver.
func WithResolver(r discovery.Resolver) Option { return func(o *options) { o.resolver = r } }

// WithEvents calls f for every endpoint change, health transition,
// ejection, breaker transition and reload, synchronously: f must be quick.
func WithEvents(f func(Event)) Option { return func(o *options) { o.events = f } }

// WithSeed makes the proxy's random choices (weighted splits, balancer
// randomness, jitter, request ids) start from seed, for reproducible tests.
func WithSeed(seed uint64) Option { return func(o *options) { o.seed, o.seeded = seed, true } }
