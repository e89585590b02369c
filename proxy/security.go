package proxy

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/cache"
	"github.com/meshbench/meshbench/proxy/fault"
	"github.com/meshbench/meshbench/proxy/mtls"
	"github.com/meshbench/meshbench/proxy/ratelimit"
)

// This file plugs the security and filter packages (proxy/mtls, proxy/auth,
// proxy/fault, proxy/cache) into the proxy through its hook points:
// WithMiddleware for route middlewares, WithServerTLS and WithPeerMode for
// the listeners, WithClusterTLS for upstream mutual TLS. A configuration
// file carries them in its routes' middlewares lists and in a top-level
// security section, which the core's own decoder does not know; LoadFile
// reads both, and SecureProxy owns what lives beside a Proxy: the rotation
// of its certificates and its audit log.

// Names of the route middlewares that NewSecure registers.
const (
	// MiddlewareAuth authenticates the caller by a JWT or an API key and
	// checks scopes and claims (params: proxy/auth.Params).
	MiddlewareAuth = "auth"
	// MiddlewarePeerAuthz admits or refuses the peer by its verified SPIFFE
	// ID (params: allow, deny; proxy/mtls.AuthzPolicy).
	MiddlewarePeerAuthz = "peerAuthz"
	// MiddlewareFault delays and aborts a percentage of requests (params:
	// proxy/fault.Config).
	MiddlewareFault = "fault"
	// MiddlewareCache answers GET and HEAD from a shared response cache
	// (params: proxy/cache.Config).
	MiddlewareCache = "cache"
	// MiddlewareConsumerLimit rate-limits each authenticated consumer
	// (auth.ConsumerKey) separately (params: ConsumerLimitParams). Put it
	// after auth or peerAuthz in the route's list.
	MiddlewareConsumerLimit = "consumerLimit"
)

// Reasons of the answers the security middlewares give by themselves, sent
// in HeaderReason beside those of reasons.go.
const (
	ReasonUnauthenticated = "unauthenticated" // 401: no or invalid credentials
	ReasonForbidden       = "forbidden"       // 403: the consumer lacks a scope or claim
	ReasonPeerDenied      = "peer_denied"     // 403: the peer's SPIFFE ID is not authorized
	ReasonFaultInjected   = "fault_injected"  // the fault filter aborted the request
)

// FileConfig is a proxy configuration file: the core Config and the
// security section, which only SecureProxy understands.
type FileConfig struct {
	Config   `yaml:",inline"`
	Security SecurityConfig `yaml:"security,omitempty" json:"security"`
}

// SecurityConfig is the security section of a configuration file: the
// audit log and the mutual TLS of the listeners and of upstream clusters.
// Route-level security (auth, peerAuthz, fault, cache, consumerLimit) is
// configured in the routes' middlewares lists. For example:
//
//	routes:
//	  - name: payments
//	    match: {prefix: /payments/}
//	    cluster: payments
//	    middlewares:
//	      - name: auth
//	        params: {type: jwt, issuer: https://idp.local, audiences: [payments],
//	                 jwksFile: jwks.json, scopes: ["payments:write"]}
//	      - name: consumerLimit
//	        params: {rate: 50, burst: 10}
//	      - name: peerAuthz
//	        params: {allow: ["spiffe://mesh.local/ns/edge/*"], deny: ["*/sa/legacy"]}
//	      - name: fault
//	        params: {abort: {status: 503, percentage: 1}, match: {name: X-Chaos}}
//	      - name: cache
//	        params: {statusHeader: X-Cache, maxBytes: 16777216}
//	clusters:
//	  - name: payments
//	    protocol: https
//	    endpoints: [{address: 127.0.0.1:8443}]
//	security:
//	  auditLog: audit.jsonl
//	  identity:
//	    spiffeId: spiffe://mesh.local/ns/edge/sa/gateway
//	    caDir: meshbench-ca            # or certFile/keyFile/caBundle
//	    ttl: 1h
//	    rotation: {renewFraction: 0.5, retryInterval: 5s}
//	  listener:
//	    mode: PERMISSIVE               # STRICT (default), PERMISSIVE, DISABLE
//	    peers: ["spiffe://mesh.local/*"]
//	  clusters:
//	    - cluster: payments
//	      peers: ["spiffe://mesh.local/ns/pay/sa/payments"]
//
// The section applies when the proxy starts; a reload whose section differs
// is refused (the listeners and identities are already in use). A reload
// does re-read the CA bundle files and certificate files it names, so
// SIGHUP picks up certificates renewed on disk.
type SecurityConfig struct {
	// AuditLog is the file that receives the audit log of authentication
	// and authorization decisions, one JSON object per line, appended;
	// empty means no audit log.
	AuditLog string `yaml:"auditLog,omitempty" json:"auditLog,omitempty"`
	// Identity is the default SPIFFE identity (SVID and trust bundle) of
	// the listener and the clusters below.
	Identity *IdentityConfig `yaml:"identity,omitempty" json:"identity,omitempty"`
	// Listener is the mutual TLS of the data-plane listeners (the gateway,
	// or the sidecar's outbound and inbound sides); unset means plaintext.
	Listener *ListenerTLSConfig `yaml:"listener,omitempty" json:"listener,omitempty"`
	// Clusters is the mutual TLS towards upstream clusters whose protocol
	// is https. An https cluster not listed uses the system roots.
	Clusters []ClusterTLSConfig `yaml:"clusters,omitempty" json:"clusters,omitempty"`

	// CA is an in-process certificate authority (code, not
	// configuration): identities that name neither certFile nor caDir are
	// issued by it, and it is their default trust bundle.
	CA *mtls.CA `yaml:"-" json:"-"`
	// AuditWriter, when set, receives the audit log instead of AuditLog.
	AuditWriter io.Writer `yaml:"-" json:"-"`
	// Clock tells the time to JWT verification, the cache, the consumer
	// limits, certificate issuance and the audit log (default time.Now);
	// tests pass a virtual clock.
	Clock func() time.Time `yaml:"-" json:"-"`
}

// IdentityConfig is a workload's SPIFFE identity: an X509-SVID that is
// renewed before it expires, and the trust bundle peers must chain to. The
// SVID comes from exactly one of certFile/keyFile (renewed on disk by
// someone else, e.g. `meshbench ca issue`; mtls.FileIssuer), caDir (a CA
// written by `meshbench ca init`, issuing in process; mtls.CAIssuer), or,
// with neither, SecurityConfig.CA.
type IdentityConfig struct {
	// SPIFFEID is the identity, e.g. spiffe://mesh.local/ns/edge/sa/gateway;
	// required when a CA issues the SVID, checked against the certificate
	// when it comes from certFile.
	SPIFFEID string `yaml:"spiffeId,omitempty" json:"spiffeId,omitempty"`
	// CABundle is a PEM file of trust anchors; default the issuing CA's
	// root. Required with certFile.
	CABundle string `yaml:"caBundle,omitempty" json:"caBundle,omitempty"`
	// CertFile and KeyFile hold the SVID (PEM), re-read on rotation.
	CertFile string `yaml:"certFile,omitempty" json:"certFile,omitempty"`
	KeyFile  string `yaml:"keyFile,omitempty" json:"keyFile,omitempty"`
	// CADir is a CA directory (ca.crt, ca.key) to issue the SVID from.
	CADir string `yaml:"caDir,omitempty" json:"caDir,omitempty"`
	// TTL is the lifetime of CA-issued SVIDs; default one hour (SPIRE's).
	TTL Duration `yaml:"ttl,omitempty" json:"ttl,omitempty"`
	// Rotation says when the SVID is renewed.
	Rotation RotationConfig `yaml:"rotation,omitempty" json:"rotation"`
}

// RotationConfig is mtls.RotationPolicy: renew after RenewFraction of the
// lifetime (default 0.5, SPIRE's), retry failed renewals after
// RetryInterval (default 5s).
type RotationConfig struct {
	RenewFraction float64  `yaml:"renewFraction,omitempty" json:"renewFraction,omitempty"`
	RetryInterval Duration `yaml:"retryInterval,omitempty" json:"retryInterval,omitempty"`
}

// ListenerTLSConfig is the mutual TLS of the data-plane listeners, after
// Istio's PeerAuthentication.
type ListenerTLSConfig struct {
	// Mode is STRICT (only mutual TLS; the default), PERMISSIVE (mutual TLS
	// and plaintext on one port) or DISABLE (plaintext).
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
	// Peers are SPIFFE ID patterns (mtls.Pattern) of the clients accepted
	// at the handshake; empty accepts any client that chains to the
	// bundle. Per-route decisions belong to the peerAuthz middleware.
	Peers []string `yaml:"peers,omitempty" json:"peers,omitempty"`
	// Identity overrides security.identity for the listener.
	Identity *IdentityConfig `yaml:"identity,omitempty" json:"identity,omitempty"`
}

// ClusterTLSConfig is the mutual TLS towards one https cluster.
type ClusterTLSConfig struct {
	// Cluster names the cluster (its protocol must be https).
	Cluster string `yaml:"cluster" json:"cluster"`
	// Peers are SPIFFE ID patterns the server must match; empty accepts
	// any server that chains to the bundle.
	Peers []string `yaml:"peers,omitempty" json:"peers,omitempty"`
	// Identity overrides security.identity for this cluster.
	Identity *IdentityConfig `yaml:"identity,omitempty" json:"identity,omitempty"`
}

// ConsumerLimitParams are the params of the consumerLimit middleware: a
// proxy/ratelimit limiter per consumer. Anonymous requests are keyed by
// their client address instead.
type ConsumerLimitParams struct {
	Type    string        `yaml:"type,omitempty"`
	Rate    float64       `yaml:"rate,omitempty"`
	Burst   int           `yaml:"burst,omitempty"`
	Window  time.Duration `yaml:"window,omitempty"`
	Limit   int           `yaml:"limit,omitempty"`
	MaxKeys int           `yaml:"maxKeys,omitempty"`
	IdleTTL time.Duration `yaml:"idleTtl,omitempty"`
}

// LoadFile reads a configuration file with its security section. Decoding
// is as strict as LoadConfig's and every error names file:line:col and the
// key path.
func LoadFile(path string) (FileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return FileConfig{}, fmt.Errorf("load config: %w", err)
	}
	return ParseFile(path, data)
}

// ParseFile decodes and validates a configuration with its security
// section; name is used in error messages.
func ParseFile(name string, data []byte) (FileConfig, error) {
	var fc FileConfig
	if err := yaml.UnmarshalWithOptions(data, &fc, yaml.Strict()); err != nil {
		return FileConfig{}, decodeError(name, err)
	}
	if err := errors.Join(Validate(fc.Config), fc.Security.validate(fc.Config)); err != nil {
		return FileConfig{}, locate(name, data, err)
	}
	return fc, nil
}

// locate fills in the file, line and column of the ConfigErrors in err.
func locate(name string, data []byte, err error) error {
	file, perr := parser.ParseBytes(data, 0)
	var list []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *ConfigError
		if errors.As(e, &ce) && ce.File == "" {
			ce.File = name
			if perr == nil {
				ce.Line, ce.Col = position(file, ce.Path)
			}
		}
		list = append(list, e)
	}
	walk(err)
	return errors.Join(list...)
}

// validate checks the section without reading files.
func (s SecurityConfig) validate(cfg Config) error {
	var errs fieldErrors
	if s.Identity != nil {
		s.Identity.validate(&errs, "security.identity")
	}
	if l := s.Listener; l != nil {
		mode, err := mtls.ParseMode(cmp.Or(l.Mode, string(mtls.ModeStrict)))
		if err != nil {
			errs.add("security.listener.mode", err)
		}
		if l.Identity != nil {
			l.Identity.validate(&errs, "security.listener.identity")
		} else if mode != mtls.ModeDisable && s.Identity == nil {
			errs.add("security.listener", errors.New("needs an identity (security.identity or security.listener.identity)"))
		}
		validPatterns(&errs, "security.listener.peers", l.Peers)
	}
	seen := map[string]bool{}
	for i, c := range s.Clusters {
		p := fmt.Sprintf("security.clusters[%d]", i)
		switch i := slices.IndexFunc(cfg.Clusters, func(cc ClusterConfig) bool { return cc.Name == c.Cluster }); {
		case c.Cluster == "":
			errs.add(p+".cluster", errors.New("required"))
		case i < 0:
			errs.add(p+".cluster", fmt.Errorf("unknown cluster %q", c.Cluster))
		case cfg.Clusters[i].Protocol != ProtocolHTTPS:
			errs.add(p+".cluster", fmt.Errorf("cluster %q has protocol %q; mutual TLS needs https", c.Cluster, cmp.Or(cfg.Clusters[i].Protocol, ProtocolHTTP1)))
		case seen[c.Cluster]:
			errs.add(p+".cluster", fmt.Errorf("cluster %q is listed twice", c.Cluster))
		}
		seen[c.Cluster] = true
		if c.Identity != nil {
			c.Identity.validate(&errs, p+".identity")
		} else if s.Identity == nil {
			errs.add(p, errors.New("needs an identity (security.identity or an identity of its own)"))
		}
		validPatterns(&errs, p+".peers", c.Peers)
	}
	return errs.err()
}

func (ic *IdentityConfig) validate(errs *fieldErrors, p string) {
	switch {
	case ic.CertFile != "" && ic.CADir != "":
		errs.add(p+".caDir", errors.New("certFile and caDir exclude each other"))
	case (ic.CertFile == "") != (ic.KeyFile == ""):
		errs.add(p+".keyFile", errors.New("certFile and keyFile go together"))
	case ic.CertFile != "" && ic.CABundle == "":
		errs.add(p+".caBundle", errors.New("required with certFile"))
	case ic.CertFile == "" && ic.SPIFFEID == "":
		errs.add(p+".spiffeId", errors.New("required when a CA issues the certificate"))
	}
	if ic.SPIFFEID != "" {
		if _, err := spiffeid.FromString(ic.SPIFFEID); err != nil {
			errs.add(p+".spiffeId", err)
		}
	}
	if ic.TTL < 0 {
		errs.add(p+".ttl", errors.New("must not be negative"))
	}
	if f := ic.Rotation.RenewFraction; f < 0 || f > 1 {
		errs.add(p+".rotation.renewFraction", errors.New("must be in (0, 1]"))
	}
	if ic.Rotation.RetryInterval < 0 {
		errs.add(p+".rotation.retryInterval", errors.New("must not be negative"))
	}
}

func validPatterns(errs *fieldErrors, p string, patterns []string) {
	for i, s := range patterns {
		if _, err := mtls.ParsePattern(s); err != nil {
			errs.add(fmt.Sprintf("%s[%d]", p, i), err)
		}
	}
}

// SecureProxy is a Proxy with its security layer: the route middlewares
// auth, peerAuthz, fault, cache and consumerLimit, mutual TLS on its
// listeners and towards https clusters with SPIFFE identities rotated in the
// background, and an audit log. It is what `meshbench proxy` runs.
type SecureProxy struct {
	*Proxy
	sec *security
}

// NewFromFile loads a configuration file (LoadFile) and builds the proxy
// with NewSecure. Errors that only building finds (a middleware's params, a
// missing certificate file) also name file:line:col.
func NewFromFile(path string, opts ...Option) (*SecureProxy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	fc, err := ParseFile(path, data)
	if err != nil {
		return nil, err
	}
	sp, err := NewSecure(fc.Config, fc.Security, opts...)
	if err != nil {
		return nil, locate(path, data, err)
	}
	return sp, nil
}

// NewSecure builds a Proxy from cfg with the security layer sec: it
// registers the security middlewares (opts given by the caller come after
// and override), loads or issues the identities, sets up the listeners'
// and clusters' mutual TLS and starts one goroutine per identity that
// renews its SVID when due (mtls.Runner) until Shutdown or the end of Run.
func NewSecure(cfg Config, sec SecurityConfig, opts ...Option) (*SecureProxy, error) {
	if err := sec.validate(cfg); err != nil {
		return nil, err
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	log := cmpLogger(o.log)
	seed := o.seed
	if !o.seeded {
		seed = rand.Uint64()
	}
	s, err := newSecurity(sec, seed, log)
	if err != nil {
		return nil, err
	}
	sp := &SecureProxy{sec: s}
	all := []Option{
		WithMiddleware(MiddlewareAuth, s.authFactory),
		WithMiddleware(MiddlewarePeerAuthz, s.peerAuthzFactory),
		WithMiddleware(MiddlewareFault, s.faultFactory),
		WithMiddleware(MiddlewareCache, s.cacheFactory),
		WithMiddleware(MiddlewareConsumerLimit, s.consumerLimitFactory),
	}
	if s.serverTLS != nil {
		all = append(all, WithServerTLS(s.serverTLS), WithPeerMode(s.mode))
	}
	if len(s.clusterTLS) > 0 {
		all = append(all, WithClusterTLS(func(name string) (*tls.Config, error) { return s.clusterTLS[name], nil }))
	}
	p, err := New(cfg, append(all, opts...)...)
	if err != nil {
		s.close()
		return nil, err
	}
	sp.Proxy = p
	s.metrics = p.env.metrics
	s.pruneCaches()
	s.start()
	return sp, nil
}

func cmpLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// Run serves as Proxy.Run does, then stops the certificate rotation and
// closes the audit log.
func (sp *SecureProxy) Run(ctx context.Context) error {
	err := sp.Proxy.Run(ctx)
	sp.sec.close()
	return err
}

// Shutdown drains the proxy as Proxy.Shutdown does, then stops the
// certificate rotation and closes the audit log.
func (sp *SecureProxy) Shutdown(ctx context.Context) error {
	err := sp.Proxy.Shutdown(ctx)
	sp.sec.close()
	return err
}

// ReloadFile applies a configuration file with its security section (see
// Reload). It is what SIGHUP and a change of the file do in `meshbench
// proxy`.
func (sp *SecureProxy) ReloadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	fc, err := ParseFile(path, data)
	if err != nil {
		sp.countRefused(err)
		return fmt.Errorf("reload refused: %w", err)
	}
	if err := sp.reload(fc.Config, fc.Security); err != nil {
		return fmt.Errorf("reload refused: %w", locate(path, data, err))
	}
	return nil
}

// Reload applies cfg as Proxy.Reload does. sec must equal the section the
// proxy started with (its code fields aside): listeners and identities
// cannot change under a running proxy, so a different one refuses the whole
// reload. After a successful reload the CA bundle files are read again and
// file-based SVIDs reloaded; a failure there is logged and the previous
// ones stay in use. Caches of routes whose cache params did not change keep
// their entries.
func (sp *SecureProxy) Reload(cfg Config, sec SecurityConfig) error {
	if err := sp.reload(cfg, sec); err != nil {
		return fmt.Errorf("reload refused: %w", err)
	}
	return nil
}

// reload is Reload with the errors unwrapped, so that ReloadFile can name
// their positions.
func (sp *SecureProxy) reload(cfg Config, sec SecurityConfig) error {
	s := sp.sec
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if !s.cfg.sameSection(sec) {
		err := &ConfigError{Path: "security", Err: errors.New("the security section changed; it applies at start, restart the proxy to change it")}
		sp.countRefused(err)
		return err
	}
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
	if err := sp.Proxy.Reload(cfg); err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			return inner // the core's "reload refused: " wrapper
		}
		return err
	}
	s.pruneCaches()
	s.refresh()
	return nil
}

// countRefused records a reload refused before it reached the core, as the
// core records its own refusals.
func (sp *SecureProxy) countRefused(err error) {
	sp.RecordRefusedReload(err)
}

// Rotate renews every identity's SVID now, whatever the rotation policy
// says (tests, and operators who revoke a key).
func (sp *SecureProxy) Rotate(now time.Time) error {
	var errs []error
	for _, id := range sp.sec.ids {
		if err := id.rot.Rotate(now); err != nil {
			errs = append(errs, fmt.Errorf("rotate %s: %w", id.name, err))
		}
	}
	return errors.Join(errs...)
}

// SVIDs returns the current SVID of every identity, for status views and
// tests.
func (sp *SecureProxy) SVIDs() []*mtls.SVID {
	out := make([]*mtls.SVID, len(sp.sec.ids))
	for i, id := range sp.sec.ids {
		out[i] = id.src.SVID()
	}
	return out
}

// CacheStats returns the counters of each route's response cache, by route
// name.
func (sp *SecureProxy) CacheStats() map[string]cache.Stats {
	s := sp.sec
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]cache.Stats{}
	for k, e := range s.caches {
		if e.gen == s.gen {
			out[k.route] = e.c.Stats()
		}
	}
	return out
}

// sameSection compares the configuration fields of two sections.
func (s SecurityConfig) sameSection(o SecurityConfig) bool {
	s.CA, s.AuditWriter, s.Clock = nil, nil, nil
	o.CA, o.AuditWriter, o.Clock = nil, nil, nil
	return reflect.DeepEqual(s, o)
}

// WithPeerMode makes the TLS listeners (WithServerTLS) treat peers as
// Istio's PeerAuthentication modes do: mtls.ModeStrict (the default) takes
// only TLS, mtls.ModePermissive takes TLS and plaintext on the same port,
// telling them apart by the first byte, mtls.ModeDisable only plaintext.
func WithPeerMode(mode mtls.Mode) Option {
	return WithTLSListener(func(ln net.Listener, cfg *tls.Config) (net.Listener, error) {
		return mtls.Listen(ln, cmp.Or(mode, mtls.ModeStrict), cfg, 0)
	})
}

// security is the running security layer of a SecureProxy.
type security struct {
	cfg     SecurityConfig
	log     *slog.Logger
	clock   func() time.Time
	seed    uint64
	audit   *auth.Audit
	auditF  *os.File
	metrics *metrics // set once the Proxy exists, before it serves

	ids        []*identity
	serverTLS  *tls.Config
	mode       mtls.Mode
	clusterTLS map[string]*tls.Config

	reloadMu sync.Mutex // serialises Reload
	mu       sync.Mutex // guards gen and caches
	gen      uint64
	caches   map[cacheKey]*cacheEntry

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// identity is one SVID with its bundle and rotation.
type identity struct {
	name   string
	cfg    IdentityConfig
	src    *mtls.Source
	bundle *mtls.Bundle
	rot    *mtls.Rotator
}

type cacheKey struct{ route, params string }

type cacheEntry struct {
	c   *cache.Cache
	gen uint64
}

func newSecurity(cfg SecurityConfig, seed uint64, log *slog.Logger) (*security, error) {
	s := &security{cfg: cfg, log: log, clock: cfg.Clock, seed: seed, clusterTLS: map[string]*tls.Config{}, caches: map[cacheKey]*cacheEntry{}}
	if s.clock == nil {
		s.clock = time.Now
	}
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()
	switch {
	case cfg.AuditWriter != nil:
		s.audit = auth.NewAudit(cfg.AuditWriter)
	case cfg.AuditLog != "":
		f, err := os.OpenFile(cfg.AuditLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, &ConfigError{Path: "security.auditLog", Err: err}
		}
		s.auditF, s.audit = f, auth.NewAudit(f)
	}
	var errs fieldErrors
	byCfg := map[IdentityConfig]*identity{}
	identityFor := func(own *IdentityConfig, p string) *identity {
		ic := cfg.Identity
		if own != nil {
			ic, p = own, p+".identity"
		} else {
			p = "security.identity"
		}
		if id := byCfg[*ic]; id != nil {
			return id
		}
		id, err := s.newIdentity(*ic, p)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				ce = &ConfigError{Path: p, Err: err}
			}
			errs.list = append(errs.list, ce)
			return nil
		}
		byCfg[*ic] = id
		s.ids = append(s.ids, id)
		return id
	}
	if cfg.Identity != nil {
		identityFor(nil, "") // load it now, so that its errors show at start
	}
	if l := cfg.Listener; l != nil {
		s.mode, _ = mtls.ParseMode(cmp.Or(l.Mode, string(mtls.ModeStrict)))
		if s.mode != mtls.ModeDisable {
			if id := identityFor(l.Identity, "security.listener"); id != nil {
				v := &mtls.Verifier{Bundle: id.bundle, Authorize: authorizePeers(l.Peers), Clock: s.clock}
				s.serverTLS = mtls.ServerConfig(id.src, v)
			}
		}
	}
	for i, c := range cfg.Clusters {
		if id := identityFor(c.Identity, fmt.Sprintf("security.clusters[%d]", i)); id != nil {
			v := &mtls.Verifier{Bundle: id.bundle, Authorize: authorizePeers(c.Peers), Clock: s.clock}
			s.clusterTLS[c.Cluster] = mtls.ClientConfig(id.src, v)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// newIdentity loads or issues an identity's first SVID and its bundle.
func (s *security) newIdentity(ic IdentityConfig, p string) (*identity, error) {
	var (
		issuer mtls.Issuer
		bundle *mtls.Bundle
		name   = ic.SPIFFEID
	)
	caIssuer := func(ca *mtls.CA) (mtls.Issuer, error) {
		id, err := spiffeid.FromString(ic.SPIFFEID)
		if err != nil {
			return nil, &ConfigError{Path: p + ".spiffeId", Err: err}
		}
		return &mtls.CAIssuer{CA: ca, ID: id, TTL: ic.TTL.D()}, nil
	}
	switch {
	case ic.CertFile != "":
		issuer, name = &mtls.FileIssuer{CertFile: ic.CertFile, KeyFile: ic.KeyFile}, cmp.Or(name, ic.CertFile)
	case ic.CADir != "":
		ca, err := mtls.LoadCA(ic.CADir)
		if err != nil {
			return nil, &ConfigError{Path: p + ".caDir", Err: err}
		}
		if issuer, err = caIssuer(ca); err != nil {
			return nil, err
		}
		bundle = ca.Bundle()
	case s.cfg.CA != nil:
		var err error
		if issuer, err = caIssuer(s.cfg.CA); err != nil {
			return nil, err
		}
		bundle = s.cfg.CA.Bundle()
	default:
		return nil, &ConfigError{Path: p, Err: errors.New("no certFile, no caDir and no in-process CA to issue the certificate")}
	}
	if ic.CABundle != "" {
		b, err := mtls.LoadBundle(ic.CABundle)
		if err != nil {
			return nil, &ConfigError{Path: p + ".caBundle", Err: err}
		}
		bundle = b
	}
	svid, err := issuer.Issue(s.clock())
	if err != nil {
		return nil, &ConfigError{Path: p, Err: fmt.Errorf("first certificate: %w", err)}
	}
	if ic.SPIFFEID != "" && svid.ID.String() != ic.SPIFFEID {
		return nil, &ConfigError{Path: p + ".spiffeId", Err: fmt.Errorf("the certificate is for %s, not %s", svid.ID, ic.SPIFFEID)}
	}
	src := mtls.NewSource(svid)
	rot := mtls.NewRotator(src, issuer, mtls.RotationPolicy{RenewFraction: ic.Rotation.RenewFraction, RetryInterval: ic.Rotation.RetryInterval.D()})
	rot.OnRotate = func(n *mtls.SVID) {
		s.log.Info("svid rotated", "id", n.ID.String(), "serial", n.Leaf.SerialNumber.String(), "not_after", n.NotAfter())
	}
	return &identity{name: name, cfg: ic, src: src, bundle: bundle, rot: rot}, nil
}

// authorizePeers turns SPIFFE ID patterns into a handshake-time check; nil
// accepts every ID.
func authorizePeers(patterns []string) func(spiffeid.ID) error {
	if len(patterns) == 0 {
		return nil
	}
	ps := make([]mtls.Pattern, 0, len(patterns))
	for _, s := range patterns {
		if p, err := mtls.ParsePattern(s); err == nil { // validated before
			ps = append(ps, p)
		}
	}
	return func(id spiffeid.ID) error {
		s := id.String()
		for _, p := range ps {
			if p.Match(s) {
				return nil
			}
		}
		return fmt.Errorf("peer %s matches none of %v", s, patterns)
	}
}

// start runs one rotation loop per identity.
func (s *security) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, id := range s.ids {
		r := &mtls.Runner{Rotator: id.rot, OnError: func(err error) {
			s.log.Warn("svid renewal failed; retrying", "id", id.name, "err", err)
		}}
		s.wg.Go(func() { r.Run(ctx) })
	}
}

// close stops the rotation loops and closes the audit log.
func (s *security) close() {
	s.closeOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		if s.auditF != nil {
			if err := s.auditF.Close(); err != nil {
				s.log.Warn("close audit log", "err", err)
			}
		}
	})
}

// refresh re-reads bundle files and file-based SVIDs after a reload.
func (s *security) refresh() {
	for _, id := range s.ids {
		if id.cfg.CABundle != "" {
			b, err := mtls.LoadBundle(id.cfg.CABundle)
			if err != nil {
				s.log.Warn("reload trust bundle; keeping the previous one", "file", id.cfg.CABundle, "err", err)
			} else {
				id.bundle.Set(b.Roots()...)
			}
		}
		if id.cfg.CertFile != "" {
			if err := id.rot.Rotate(s.clock()); err != nil {
				s.log.Warn("reload certificate; keeping the previous one", "file", id.cfg.CertFile, "err", err)
			}
		}
	}
}

// requestID is the request id the proxy assigned (or kept), for the audit
// log.
func requestID(r *http.Request) string {
	if st := stateFrom(r.Context()); st != nil {
		return st.id
	}
	return auth.HeaderRequestID(r)
}

func (s *security) authFactory(route string, params map[string]any) (Middleware, error) {
	var p auth.Params
	if err := DecodeParams(params, &p); err != nil {
		return nil, err
	}
	mw, err := auth.Build(route, p, auth.Env{Audit: s.audit, Clock: s.cfg.Clock, RequestID: requestID})
	if err != nil {
		return nil, err
	}
	return s.tagged(route, mw, func(status int) string {
		if status == http.StatusForbidden {
			return ReasonForbidden
		}
		return ReasonUnauthenticated
	}), nil
}

func (s *security) peerAuthzFactory(route string, params map[string]any) (Middleware, error) {
	var p mtls.AuthzPolicy
	if err := DecodeParams(params, &p); err != nil {
		return nil, err
	}
	p.Route, p.Audit, p.Clock, p.RequestID = route, s.audit, s.cfg.Clock, requestID
	mw, err := mtls.Authz(p)
	if err != nil {
		return nil, err
	}
	return s.tagged(route, mw, func(int) string { return ReasonPeerDenied }), nil
}

func (s *security) faultFactory(route string, params map[string]any) (Middleware, error) {
	var c fault.Config
	if err := DecodeParams(params, &c); err != nil {
		return nil, err
	}
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	f, err := fault.New(c, rand.New(rand.NewPCG(s.seed, hashString(route)^gen)))
	if err != nil {
		return nil, err
	}
	return s.tagged(route, f.Middleware, func(int) string { return ReasonFaultInjected }), nil
}

// cacheFactory keeps a route's cache across reloads while its params stay
// the same.
func (s *security) cacheFactory(route string, params map[string]any) (Middleware, error) {
	var c cache.Config
	if err := DecodeParams(params, &c); err != nil {
		return nil, err
	}
	key, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	c.Clock = s.cfg.Clock
	s.mu.Lock()
	defer s.mu.Unlock()
	k := cacheKey{route, string(key)}
	if e := s.caches[k]; e != nil {
		e.gen = s.gen
		return e.c.Middleware, nil
	}
	cc, err := cache.New(c)
	if err != nil {
		return nil, err
	}
	s.caches[k] = &cacheEntry{c: cc, gen: s.gen}
	return cc.Middleware, nil
}

// pruneCaches drops the caches the configuration just applied no longer
// uses.
func (s *security) pruneCaches() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.caches {
		if e.gen != s.gen {
			delete(s.caches, k)
		}
	}
}

func (s *security) consumerLimitFactory(route string, params map[string]any) (Middleware, error) {
	var p ConsumerLimitParams
	if err := DecodeParams(params, &p); err != nil {
		return nil, err
	}
	lim, err := ratelimit.NewKeyed(ratelimit.Config{Type: cmp.Or(p.Type, "token_bucket"), Rate: p.Rate, Burst: p.Burst,
		Window: p.Window, Limit: p.Limit, MaxKeys: p.MaxKeys, IdleTTL: p.IdleTTL})
	if err != nil {
		return nil, fmt.Errorf("consumerLimit: %w", err)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := auth.ConsumerKey(r)
			if key == "" {
				key = "ip:" + clientIP(r.RemoteAddr)
			}
			if d := lim.Allow(s.clock(), key); !d.Allowed {
				if s.metrics != nil {
					s.metrics.rejected(route, ReasonConsumerLimited)
				}
				w.Header()["Retry-After"] = []string{retryAfterSeconds(d.RetryAfter)}
				st := stateFrom(r.Context())
				if st == nil {
					st = &reqState{}
				}
				writeError(w, st, http.StatusTooManyRequests, ReasonConsumerLimited)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// tagged wraps a middleware of another package that may answer a request
// by itself (401, 403, a fault's abort) so that its answer carries
// HeaderReason, is logged with that reason and counted as a rejection, as
// the proxy's own answers are. Answers that come from further down the
// chain pass untouched.
func (s *security) tagged(route string, mw Middleware, reason func(status int) string) Middleware {
	return func(next http.Handler) http.Handler {
		inner := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tw, ok := w.(*tagWriter); ok {
				tw.passed = true
				w = tw.ResponseWriter
			} else {
				for u := w; u != nil; {
					if tw, ok := u.(*tagWriter); ok {
						tw.passed = true
						break
					}
					uw, ok := u.(interface{ Unwrap() http.ResponseWriter })
					if !ok {
						break
					}
					u = uw.Unwrap()
				}
			}
			next.ServeHTTP(w, r)
		}))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tw := tagWriters.Get().(*tagWriter)
			*tw = tagWriter{ResponseWriter: w, s: s, route: route, reason: reason, st: stateFrom(r.Context())}
			inner.ServeHTTP(tw, r)
			*tw = tagWriter{}
			tagWriters.Put(tw)
		})
	}
}

// tagWriters are pooled: a request's writer is not used once its handler
// has returned, and the security middlewares run on every request.
var tagWriters = sync.Pool{New: func() any { return new(tagWriter) }}

// tagWriter is the ResponseWriter of a tagged middleware.
type tagWriter struct {
	http.ResponseWriter
	s       *security
	route   string
	reason  func(int) string
	st      *reqState
	passed  bool // the request went on past the middleware
	written bool
}

func (t *tagWriter) WriteHeader(code int) {
	if !t.passed && !t.written && code >= 400 {
		reason := t.reason(code)
		t.Header()[HeaderReason] = []string{reason}
		if t.st != nil {
			t.st.reason = reason
		}
		if t.s.metrics != nil {
			t.s.metrics.rejected(t.route, reason)
		}
	}
	if code >= 200 {
		t.written = true
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *tagWriter) Write(b []byte) (int, error) {
	if !t.written {
		t.WriteHeader(http.StatusOK)
	}
	return t.ResponseWriter.Write(b)
}

func (t *tagWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (t *tagWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// reloadDebounce lets a burst of file events (an editor's write, chmod and
// rename) settle into one reload.
const reloadDebounce = 100 * time.Millisecond

// WatchFile reloads path with ReloadFile whenever a value arrives on hup
// (SIGHUP in `meshbench proxy`) or the file changes on disk, until ctx is
// done. The file's directory is watched with fsnotify, so an editor's or a
// config manager's atomic rename counts as a change; bursts of events are
// debounced. Each outcome is logged: a refused file leaves the running
// configuration serving, and the next change is tried again. When the
// directory cannot be watched, that is logged and only hup reloads.
//
// The watch is in place when WatchFile returns; the loop runs in a
// goroutine, and the returned function waits for it to end after ctx is
// done.
func (sp *SecureProxy) WatchFile(ctx context.Context, path string, hup <-chan os.Signal) (wait func()) {
	log := sp.sec.log
	var (
		w      *fsnotify.Watcher
		events <-chan fsnotify.Event
		errs   <-chan error
	)
	abs, err := filepath.Abs(path)
	if err == nil {
		if w, err = fsnotify.NewWatcher(); err == nil {
			if err = w.Add(filepath.Dir(abs)); err == nil {
				events, errs = w.Events, w.Errors
			} else {
				w.Close()
				w = nil
			}
		}
	}
	if err != nil {
		log.Warn("cannot watch the config file; only SIGHUP reloads it", "file", path, "err", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if w != nil {
			defer w.Close()
		}
		sp.watchLoop(ctx, path, abs, hup, events, errs)
	}()
	return func() { <-done }
}

func (sp *SecureProxy) watchLoop(ctx context.Context, path, abs string, hup <-chan os.Signal, events <-chan fsnotify.Event, errs <-chan error) {
	log := sp.sec.log
	reload := func(why string) {
		if err := sp.ReloadFile(path); err != nil {
			log.Error("config reload refused; the previous configuration keeps serving", "trigger", why, "file", path, "err", err)
			return
		}
		log.Info("config reloaded", "trigger", why, "file", path)
	}
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload("signal")
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if filepath.Clean(ev.Name) == abs && ev.Op&(fsnotify.Write|fsnotify.Create) != 0 {
				debounce.Reset(reloadDebounce)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			log.Warn("config watch", "file", path, "err", err)
		case <-debounce.C:
			reload("file")
		}
	}
}
