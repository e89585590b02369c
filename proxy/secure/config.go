package secure

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/mtls"
)

// FileConfig is a proxy configuration file: the core's config.Config and
// the security section, which only this package understands.
type FileConfig struct {
	config.Config `yaml:",inline"`
	Security      SecurityConfig `yaml:"security,omitempty" json:"security"`
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
	TTL config.Duration `yaml:"ttl,omitempty" json:"ttl,omitempty"`
	// Rotation says when the SVID is renewed.
	Rotation RotationConfig `yaml:"rotation,omitempty" json:"rotation"`
}

// RotationConfig is mtls.RotationPolicy: renew after RenewFraction of the
// lifetime (default 0.5, SPIRE's), retry failed renewals after
// RetryInterval (default 5s). After each renewal the proxy closes the idle
// connections of its mutual-TLS clusters, so that no pooled connection
// outlives the certificate it was made with; tries in flight finish on
// theirs.
type RotationConfig struct {
	RenewFraction float64         `yaml:"renewFraction,omitempty" json:"renewFraction,omitempty"`
	RetryInterval config.Duration `yaml:"retryInterval,omitempty" json:"retryInterval,omitempty"`
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

// validate checks the section without reading files.
func (s SecurityConfig) validate(cfg config.Config) error {
	var errs problems
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
		if cfg.TLS != nil && mode != mtls.ModeDisable {
			errs.add("security.listener", errors.New("the tls section already terminates TLS on listen with the gateway's own certificates: a listener terminates one TLS, so set tls or security.listener, not both"))
		}
	}
	if allow := cfg.AdminAccess.AllowSpiffeIDs; len(allow) > 0 {
		validPatterns(&errs, "adminAccess.allowSpiffeIds", allow)
		if s.Identity == nil {
			errs.add("adminAccess.allowSpiffeIds", errors.New("mutual TLS peers on the admin listener need security.identity, which the listener presents"))
		}
	}
	seen := map[string]bool{}
	for i, c := range s.Clusters {
		p := fmt.Sprintf("security.clusters[%d]", i)
		switch i := slices.IndexFunc(cfg.Clusters, func(cc config.ClusterConfig) bool { return cc.Name == c.Cluster }); {
		case c.Cluster == "":
			errs.add(p+".cluster", errors.New("required"))
		case i < 0:
			errs.add(p+".cluster", fmt.Errorf("unknown cluster %q", c.Cluster))
		case cfg.Clusters[i].Protocol != config.ProtocolHTTPS:
			errs.add(p+".cluster", fmt.Errorf("cluster %q has protocol %q; mutual TLS needs https", c.Cluster, cmp.Or(cfg.Clusters[i].Protocol, config.ProtocolHTTP1)))
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

func (ic *IdentityConfig) validate(errs *problems, p string) {
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

func validPatterns(errs *problems, p string, patterns []string) {
	for i, s := range patterns {
		if _, err := mtls.ParsePattern(s); err != nil {
			errs.add(fmt.Sprintf("%s[%d]", p, i), err)
		}
	}
}

// sameSection compares the configuration fields of two sections.
func (s SecurityConfig) sameSection(o SecurityConfig) bool {
	s.CA, s.AuditWriter, s.Clock = nil, nil, nil
	o.CA, o.AuditWriter, o.Clock = nil, nil, nil
	return reflect.DeepEqual(s, o)
}

// problems collects the ConfigErrors that one pass finds, so that all of
// them are reported together, each at its key path.
type problems []error

func (p *problems) add(path string, err error) {
	*p = append(*p, &config.ConfigError{Path: path, Err: err})
}

func (p problems) err() error { return errors.Join(p...) }
