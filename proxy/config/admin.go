package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
)

// AdminAccessConfig is who may change the proxy through its admin
// listener: today, write to the discovery registry served under /registry/
// (register, heartbeat, deregister), which decides where a cluster's traffic
// goes. It is modelled on Consul's ACL tokens for its catalog: a write needs
// a bearer token the proxy knows (Authorization: Bearer TOKEN), or, under
// `meshbench proxy` (proxy/secure), a mutual TLS peer whose SPIFFE ID an
// allowSpiffeIds pattern matches.
//
// Reads stay open to whoever reaches the listener: /ready, /metrics,
// /clusters, the registry's lists (other proxies' registry discovery polls
// them, and they hold addresses, not secrets) and /config, whose secrets
// are redacted (Config.Redacted).
//
// Without tokens and peers (the zero value) the admin listener keeps
// today's behaviour and is open, which is allowed on loopback only: an
// admin address that is not loopback is refused (Validate when the address
// is an IP or empty host, the proxy's ServeAdmin for the address it is
// given) unless access control is configured, as Envoy's admin interface
// is meant for loopback only.
type AdminAccessConfig struct {
	// Tokens are the bearer tokens accepted for registry writes. Each is
	// given as its SHA-256 digest or as a file holding the token in clear
	// (read when the configuration is applied); the proxy keeps digests
	// only and compares them in constant time.
	Tokens []AdminTokenConfig `yaml:"tokens,omitempty" json:"tokens,omitempty"`
	// AllowSpiffeIDs are SPIFFE ID patterns (proxy/mtls.Pattern) of mutual
	// TLS peers accepted for registry writes. They need `meshbench proxy`
	// (proxy/secure) and security.identity: the admin listener then takes
	// mutual TLS and plaintext on one port (Istio's PERMISSIVE), so token
	// clients keep speaking plaintext.
	AllowSpiffeIDs []string `yaml:"allowSpiffeIds,omitempty" json:"allowSpiffeIds,omitempty"`
}

// AdminTokenConfig is one accepted admin token: exactly one of SHA256 and
// File.
type AdminTokenConfig struct {
	// Name identifies the token in metrics and logs (required, unique).
	Name string `yaml:"name" json:"name"`
	// SHA256 is the hex SHA-256 digest of the token (64 hex digits,
	// optionally after "sha256:"), e.g. the output of `printf %s "$TOKEN"
	// | meshbench ca hash-key` or of sha256sum.
	SHA256 string `yaml:"sha256,omitempty" json:"sha256,omitempty"`
	// File holds the token in clear; surrounding white space is ignored.
	File string `yaml:"file,omitempty" json:"file,omitempty"`
}

// Enabled reports whether access control is configured.
func (a AdminAccessConfig) Enabled() bool { return len(a.Tokens) > 0 || len(a.AllowSpiffeIDs) > 0 }

// checkAdmin checks adminAccess and that an open admin listener is on
// loopback, as far as the address tells without resolving names.
func checkAdmin(cfg Config, errs *fieldErrors) {
	a := cfg.AdminAccess
	names := map[string]bool{}
	for i, t := range a.Tokens {
		p := fmt.Sprintf("adminAccess.tokens[%d]", i)
		switch {
		case t.Name == "":
			errs.add(p+".name", errors.New("token name is required"))
		case names[t.Name]:
			errs.add(p+".name", fmt.Errorf("duplicate token %q", t.Name))
		}
		names[t.Name] = true
		switch {
		case t.SHA256 != "" && t.File != "":
			errs.add(p, errors.New("set sha256 or file, not both"))
		case t.SHA256 == "" && t.File == "":
			errs.add(p, errors.New("a token needs sha256 or file"))
		case t.SHA256 != "":
			if b, err := hex.DecodeString(strings.TrimPrefix(t.SHA256, "sha256:")); err != nil || len(b) != 32 {
				errs.add(p+".sha256", errors.New("want the 64 hex digits of a SHA-256 digest"))
			}
		}
	}
	for i, s := range a.AllowSpiffeIDs {
		// The full pattern syntax is proxy/mtls's, checked by proxy/secure.
		if s == "" || !strings.HasPrefix(s, "spiffe://") && !strings.HasPrefix(s, "*") {
			errs.add(fmt.Sprintf("adminAccess.allowSpiffeIds[%d]", i), fmt.Errorf("pattern %q: must start with spiffe:// or *", s))
		}
	}
	if cfg.Admin != "" && !a.Enabled() {
		if loopback, known := loopbackAddr(cfg.Admin); known && !loopback {
			errs.add("admin", fmt.Errorf("%q is not a loopback address and the admin listener has no access control: configure adminAccess (tokens or allowSpiffeIds) or listen on 127.0.0.1", cfg.Admin))
		}
	}
}

// loopbackAddr tells whether the listen address addr (host:port) is on
// loopback: known is false for a host name other than localhost, which
// only resolving tells. An empty host or an unspecified IP listens on every
// interface, so it is not loopback.
func loopbackAddr(addr string) (loopback, known bool) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true, true
	}
	if host == "" {
		return false, true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if ip == nil {
		return false, false
	}
	return ip.IsLoopback(), true
}
