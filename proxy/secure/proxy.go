package secure

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/cache"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/mtls"
)

// Proxy is a proxy.Proxy with its security layer: the route middlewares
// auth, peerAuthz, fault, cache and consumerLimit, mutual TLS on its
// listeners and towards https clusters with SPIFFE identities rotated in the
// background, and an audit log. It is what `meshbench proxy` runs.
type Proxy struct {
	*proxy.Proxy
	sec *layer
}

// NewFromFile loads a configuration file (LoadFile) and builds the proxy
// with New. Errors that only building finds (a middleware's params, a
// missing certificate file) also name file:line:col.
func NewFromFile(path string, opts ...proxy.Option) (*Proxy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	fc, err := ParseFile(path, data)
	if err != nil {
		return nil, err
	}
	sp, err := New(fc.Config, fc.Security, opts...)
	if err != nil {
		return nil, config.LocateErrors(path, data, err)
	}
	return sp, nil
}

// New builds a proxy.Proxy from cfg with the security layer sec: it
// registers the security middlewares (opts given by the caller come after
// and override), loads or issues the identities, sets up the listeners'
// and clusters' mutual TLS and starts one goroutine per identity that
// renews its SVID when due (mtls.Runner) until Shutdown or the end of Run.
// Its logger and, with proxy.WithSeed, the seed of fault injection are
// those of opts.
func New(cfg config.Config, sec SecurityConfig, opts ...proxy.Option) (*Proxy, error) {
	if err := sec.validate(cfg); err != nil {
		return nil, err
	}
	set := proxy.SettingsOf(opts...)
	seed := set.Seed
	if !set.Seeded {
		seed = rand.Uint64()
	}
	l, err := newLayer(sec, seed, set.Logger)
	if err != nil {
		return nil, err
	}
	all := []proxy.Option{
		proxy.WithMiddleware(MiddlewareAuth, l.authFactory),
		proxy.WithMiddleware(MiddlewarePeerAuthz, l.peerAuthzFactory),
		proxy.WithMiddleware(MiddlewareFault, l.faultFactory),
		proxy.WithMiddleware(MiddlewareCache, l.cacheFactory),
		proxy.WithMiddleware(MiddlewareConsumerLimit, l.consumerLimitFactory),
		proxy.WithMiddleware(MiddlewareIPRestriction, l.ipRestrictionFactory),
		proxy.WithMiddleware(MiddlewareACL, l.aclFactory),
		proxy.WithMiddleware(MiddlewareQuota, l.quotaFactory),
	}
	if l.serverTLS != nil {
		all = append(all, proxy.WithServerTLS(l.serverTLS), WithPeerMode(l.mode))
	}
	if len(cfg.AdminAccess.AllowSpiffeIDs) > 0 && l.defaultID != nil {
		all = append(all, proxy.WithAdminTLS(l.adminListener, adminPeer))
	}
	if len(l.clusterTLS) > 0 {
		all = append(all, proxy.WithClusterTLS(func(name string) (*tls.Config, error) { return l.clusterTLS[name], nil }))
	}
	p, err := proxy.New(cfg, append(all, opts...)...)
	if err != nil {
		l.close()
		return nil, err
	}
	l.proxy = p
	l.pruneCaches()
	l.start()
	return &Proxy{Proxy: p, sec: l}, nil
}

// WithPeerMode makes the TLS listeners (proxy.WithServerTLS) treat peers as
// Istio's PeerAuthentication modes do: mtls.ModeStrict (the default) takes
// only TLS, mtls.ModePermissive takes TLS and plaintext on the same port,
// telling them apart by the first byte, mtls.ModeDisable only plaintext.
func WithPeerMode(mode mtls.Mode) proxy.Option {
	return proxy.WithTLSListener(func(ln net.Listener, cfg *tls.Config) (net.Listener, error) {
		return mtls.Listen(ln, cmp.Or(mode, mtls.ModeStrict), cfg, 0)
	})
}

// Run serves as proxy.Proxy's Run does, then stops the certificate
// rotation and closes the audit log.
func (sp *Proxy) Run(ctx context.Context) error {
	err := sp.Proxy.Run(ctx)
	sp.sec.close()
	return err
}

// Shutdown drains the proxy as proxy.Proxy's Shutdown does, then stops the
// certificate rotation and closes the audit log.
func (sp *Proxy) Shutdown(ctx context.Context) error {
	err := sp.Proxy.Shutdown(ctx)
	sp.sec.close()
	return err
}

// ReloadFile applies a configuration file with its security section (see
// Reload). It is what SIGHUP and a change of the file do in `meshbench
// proxy`.
func (sp *Proxy) ReloadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	fc, err := ParseFile(path, data)
	if err != nil {
		sp.RecordRefusedReload(err)
		return fmt.Errorf("reload refused: %w", err)
	}
	if err := sp.reload(fc.Config, fc.Security); err != nil {
		return fmt.Errorf("reload refused: %w", config.LocateErrors(path, data, err))
	}
	return nil
}

// Reload applies cfg as proxy.Proxy's Reload does. sec must equal the
// section the proxy started with (its code fields aside): listeners and
// identities cannot change under a running proxy, so a different one
// refuses the whole reload. After a successful reload the CA bundle files
// are read again and file-based SVIDs reloaded; a failure there is logged
// and the previous ones stay in use. Caches of routes whose cache params
// did not change keep their entries.
func (sp *Proxy) Reload(cfg config.Config, sec SecurityConfig) error {
	if err := sp.reload(cfg, sec); err != nil {
		return fmt.Errorf("reload refused: %w", err)
	}
	return nil
}

// reload is Reload with the errors unwrapped, so that ReloadFile can name
// their positions.
func (sp *Proxy) reload(cfg config.Config, sec SecurityConfig) error {
	l := sp.sec
	l.reloadMu.Lock()
	defer l.reloadMu.Unlock()
	if !l.cfg.sameSection(sec) {
		err := &config.ConfigError{Path: "security", Err: errors.New("the security section changed; it applies at start, restart the proxy to change it")}
		sp.RecordRefusedReload(err)
		return err
	}
	l.mu.Lock()
	l.gen++
	l.mu.Unlock()
	if err := sp.Proxy.Reload(cfg); err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			return inner // the core's "reload refused: " wrapper
		}
		return err
	}
	l.pruneCaches()
	l.refresh()
	return nil
}

// Rotate renews every identity's SVID now, whatever the rotation policy
// says (tests, and operators who revoke a key).
func (sp *Proxy) Rotate(now time.Time) error {
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
func (sp *Proxy) SVIDs() []*mtls.SVID {
	out := make([]*mtls.SVID, len(sp.sec.ids))
	for i, id := range sp.sec.ids {
		out[i] = id.src.SVID()
	}
	return out
}

// CacheStats returns the counters of each route's response cache, by route
// name.
func (sp *Proxy) CacheStats() map[string]cache.Stats {
	l := sp.sec
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]cache.Stats{}
	for k, e := range l.caches {
		if e.gen == l.gen {
			out[k.route] = e.c.Stats()
		}
	}
	return out
}
