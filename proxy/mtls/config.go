package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"sync/atomic"
)

// ServerConfig returns the tls.Config of a listener that requires mutual
// TLS: it presents src's current SVID, requires a client certificate that
// chains to v.Bundle (crypto/tls verifies it, so
// http.Request.TLS.VerifiedChains is set for Authz), and checks the
// client's SPIFFE ID with v. A change of v.Bundle's roots applies to the
// next handshake. It offers h2 and http/1.1 by ALPN (http.Server serves
// both); change NextProtos on the returned config itself, before its first
// handshake — handshakes run on clones of it, so settings made on a clone
// of it are not seen.
func ServerConfig(src *Source, v *Verifier) *tls.Config {
	cfg := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		NextProtos:       []string{"h2", "http/1.1"},
		GetCertificate:   src.GetCertificate,
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        v.Bundle.Pool(),
		VerifyConnection: v.verifyServerSide,
		Time:             v.Clock,
	}
	// Each handshake runs with a clone of cfg whose ClientCAs is the
	// bundle's current pool; the clone is kept until the bundle changes, so
	// settings made on cfg before the first handshake (NextProtos) carry
	// over.
	type cached struct {
		snap *bundleSnapshot
		cfg  *tls.Config
	}
	var last atomic.Pointer[cached]
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		snap := v.Bundle.snapshot()
		if c := last.Load(); c != nil && c.snap == snap {
			return c.cfg, nil
		}
		c := cfg.Clone()
		c.GetConfigForClient = nil
		c.ClientCAs = snap.pool
		last.Store(&cached{snap: snap, cfg: c})
		return c, nil
	}
	return cfg
}

// ClientConfig returns the tls.Config of an upstream transport that speaks
// mutual TLS: it presents src's current SVID when the server asks and
// verifies the server's SVID with v (chain to v.Bundle, SPIFFE ID accepted
// by v.Authorize; the host name is not checked). Use it as
// http.Transport.TLSClientConfig.
func ClientConfig(src *Source, v *Verifier) *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		GetClientCertificate: src.GetClientCertificate,
		// Verification is VerifyPeerCertificate's: by SPIFFE ID, not name.
		InsecureSkipVerify:    true,
		VerifyPeerCertificate: v.VerifyPeerCertificate(x509.ExtKeyUsageServerAuth),
		Time:                  v.Clock,
	}
}
