package scenarios

import (
	"fmt"
	"time"
)

// mTLS modes, after Istio's PeerAuthentication.
const (
	MTLSStrict     = "STRICT"
	MTLSPermissive = "PERMISSIVE"
	MTLSDisable    = "DISABLE"
)

// Security is the transport security of the mesh: mutual TLS between the
// gateway, the callers' sidecars and the fleet's replicas. A variant may
// set it, so that variants compare mTLS on and off.
type Security struct {
	// MTLS, when present, sets mutual TLS with SPIFFE identities issued by a
	// certificate authority created for the run.
	MTLS *MTLS `json:"mtls" jsonschema:"nullable"`
}

// MTLS is mutual TLS between the workloads of the mesh, as Istio's
// PeerAuthentication modes and SPIRE's short-lived X509-SVIDs: every
// workload (the gateway, each replica with its sidecar) holds an ECDSA
// P-256 certificate for its SPIFFE ID, valid for certTtl, renewed every
// rotateEvery. A renewal changes the certificate of new connections; the
// proxies then close their idle upstream connections, so that no pooled
// connection outlives the certificate it was made with, and the next tries
// handshake anew. Established connections with a try in flight finish it.
type MTLS struct {
	// Mode is STRICT (only mutual TLS), PERMISSIVE (mutual TLS and plaintext on one port) or DISABLE (plaintext) (default STRICT).
	Mode string `json:"mode" noun:"mtls mode" jsonschema:"enum=STRICT,enum=PERMISSIVE,enum=DISABLE"`
	// CertTTL is the lifetime of the workloads' certificates (default 1h, SPIRE's).
	CertTTL time.Duration `json:"certTtl"`
	// RotateEvery is how often every certificate is renewed; 0 means at half of certTtl, SPIRE's renewal point (default 0).
	RotateEvery time.Duration `json:"rotateEvery"`
}

// MTLSOn reports whether p's connections between workloads use mutual TLS
// (mode STRICT or PERMISSIVE).
func (p *Policy) MTLSOn() bool {
	return p.Security != nil && p.Security.MTLS != nil && p.Security.MTLS.Mode != MTLSDisable
}

// checkSecurity checks the relations inside a security block.
func checkSecurity(s *Security, report reportFunc) {
	m := s.MTLS
	if m == nil {
		return
	}
	if m.CertTTL <= 0 {
		report("mtls.certTtl", "must be greater than 0")
		return
	}
	if m.RotateEvery < 0 {
		report("mtls.rotateEvery", "must not be negative")
	} else if m.RotateEvery >= m.CertTTL {
		report("mtls.rotateEvery", "rotateEvery (%s) must be shorter than certTtl (%s): certificates would expire before they are renewed", m.RotateEvery, m.CertTTL)
	}
}

// security refuses mutual TLS on the backends that cannot run it: the
// containers backend's replicas serve plaintext only. It reports where
// the mode was written (or the block, when the mode is the default).
func (v *validator) security() {
	containers := -1
	for i, b := range v.s.Backends {
		if b == BackendContainers {
			containers = i
		}
	}
	if containers < 0 {
		return
	}
	declared := v.d.has("variants")
	seen := map[string]bool{}
	for i := range v.s.Variants {
		if !v.s.Variants[i].Policy.MTLSOn() {
			continue
		}
		path := "policy.security.mtls"
		if vp := fmt.Sprintf("variants[%d].policy.security.mtls", i); declared && v.d.has(vp) {
			path = vp
		}
		if v.d.has(path + ".mode") {
			path += ".mode"
		}
		if seen[path] || v.failed(path) {
			continue
		}
		seen[path] = true
		v.errorf(path, "mutual TLS is not available on backend containers (its replicas serve plaintext only): run the scenario on sim or local, or set mode: DISABLE")
	}
}
