package secure

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/cache"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/mtls"
	"github.com/meshbench/meshbench/proxy/quota"
)

// layer is the running security layer of a Proxy.
type layer struct {
	cfg    SecurityConfig
	log    *slog.Logger
	clock  func() time.Time
	seed   uint64
	audit  *auth.Audit
	auditF *os.File
	// proxy is the core the layer's middlewares answer through; it is set
	// once proxy.New has returned, before any request can reach them.
	proxy *proxy.Proxy

	ids        []*identity
	defaultID  *identity // security.identity's, when set
	serverTLS  *tls.Config
	mode       mtls.Mode
	clusterTLS map[string]*tls.Config

	reloadMu sync.Mutex // serialises Reload
	mu       sync.Mutex // guards gen and caches
	gen      uint64
	caches   map[cacheKey]*cacheEntry
	quotas   map[quotaKey]*quota.Quota

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type cacheKey struct{ route, params string }

type cacheEntry struct {
	c   *cache.Cache
	gen uint64
}

// newLayer opens the audit log and loads or issues the identities of the
// listeners and clusters, with their TLS configurations.
func newLayer(cfg SecurityConfig, seed uint64, log *slog.Logger) (*layer, error) {
	l := &layer{cfg: cfg, log: log, clock: cfg.Clock, seed: seed, clusterTLS: map[string]*tls.Config{}, caches: map[cacheKey]*cacheEntry{}, quotas: map[quotaKey]*quota.Quota{}}
	if l.clock == nil {
		l.clock = time.Now
	}
	ok := false
	defer func() {
		if !ok {
			l.close()
		}
	}()
	switch {
	case cfg.AuditWriter != nil:
		l.audit = auth.NewAudit(cfg.AuditWriter)
	case cfg.AuditLog != "":
		f, err := os.OpenFile(cfg.AuditLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, &config.ConfigError{Path: "security.auditLog", Err: err}
		}
		l.auditF, l.audit = f, auth.NewAudit(f)
	}
	var errs problems
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
		id, err := l.newIdentity(*ic, p)
		if err != nil {
			var ce *config.ConfigError
			if !errors.As(err, &ce) {
				ce = &config.ConfigError{Path: p, Err: err}
			}
			errs = append(errs, ce)
			return nil
		}
		byCfg[*ic] = id
		l.ids = append(l.ids, id)
		return id
	}
	if cfg.Identity != nil {
		l.defaultID = identityFor(nil, "") // load it now, so that its errors show at start
	}
	if lc := cfg.Listener; lc != nil {
		l.mode, _ = mtls.ParseMode(cmp.Or(lc.Mode, string(mtls.ModeStrict)))
		if l.mode != mtls.ModeDisable {
			if id := identityFor(lc.Identity, "security.listener"); id != nil {
				v := &mtls.Verifier{Bundle: id.bundle, Authorize: authorizePeers(lc.Peers), Clock: l.clock}
				l.serverTLS = mtls.ServerConfig(id.src, v)
			}
		}
	}
	for i, c := range cfg.Clusters {
		if id := identityFor(c.Identity, fmt.Sprintf("security.clusters[%d]", i)); id != nil {
			v := &mtls.Verifier{Bundle: id.bundle, Authorize: authorizePeers(c.Peers), Clock: l.clock}
			l.clusterTLS[c.Cluster] = mtls.ClientConfig(id.src, v)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	ok = true
	return l, nil
}

// start runs one rotation loop per identity.
func (l *layer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	for _, id := range l.ids {
		r := &mtls.Runner{Rotator: id.rot, OnError: func(err error) {
			l.log.Warn("svid renewal failed; retrying", "id", id.name, "err", err)
		}}
		l.wg.Go(func() { r.Run(ctx) })
	}
}

// closeIdle closes the idle connections of the clusters under mutual TLS
// after a renewal: the next tries open new connections and handshake with
// the new certificate, and no pooled connection outlives the certificate
// it was made with (as scenarios' policy.security.mtls has it). Tries in
// flight finish on their connections.
func (l *layer) closeIdle() {
	p := l.proxy
	if p == nil || len(l.clusterTLS) == 0 {
		return
	}
	names := make([]string, 0, len(l.clusterTLS))
	for name := range l.clusterTLS {
		names = append(names, name)
	}
	p.CloseIdleConnections(names...)
}

// close stops the rotation loops and closes the audit log.
func (l *layer) close() {
	l.closeOnce.Do(func() {
		if l.cancel != nil {
			l.cancel()
		}
		l.wg.Wait()
		if l.auditF != nil {
			if err := l.auditF.Close(); err != nil {
				l.log.Warn("close audit log", "err", err)
			}
		}
	})
}

// refresh re-reads bundle files and file-based SVIDs after a reload.
func (l *layer) refresh() {
	for _, id := range l.ids {
		if id.cfg.CABundle != "" {
			b, err := mtls.LoadBundle(id.cfg.CABundle)
			if err != nil {
				l.log.Warn("reload trust bundle; keeping the previous one", "file", id.cfg.CABundle, "err", err)
			} else {
				id.bundle.Set(b.Roots()...)
			}
		}
		if id.cfg.CertFile != "" {
			if err := id.rot.Rotate(l.clock()); err != nil {
				l.log.Warn("reload certificate; keeping the previous one", "file", id.cfg.CertFile, "err", err)
			}
		}
	}
}
