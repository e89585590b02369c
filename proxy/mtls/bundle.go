package mtls

import (
	"crypto/x509"
	"fmt"
	"os"
	"sync/atomic"
)

// Bundle is the set of trust anchors (root certificates) that peers'
// chains must reach, as a SPIFFE trust bundle. Set replaces the anchors
// atomically: handshakes after it verify against the new set, handshakes in
// flight finish with the old one. It is safe for concurrent use.
type Bundle struct {
	cur atomic.Pointer[bundleSnapshot]
}

type bundleSnapshot struct {
	certs []*x509.Certificate
	pool  *x509.CertPool
}

// NewBundle returns a bundle of roots.
func NewBundle(roots ...*x509.Certificate) *Bundle {
	b := &Bundle{}
	b.Set(roots...)
	return b
}

// LoadBundle reads a PEM file of root certificates (a CA's ca.crt).
func LoadBundle(path string) (*Bundle, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load bundle: %w", err)
	}
	certs, err := parseCertPEM(data)
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", path, err)
	}
	return NewBundle(certs...), nil
}

// Set replaces the roots.
func (b *Bundle) Set(roots ...*x509.Certificate) {
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	b.cur.Store(&bundleSnapshot{certs: append([]*x509.Certificate(nil), roots...), pool: pool})
}

// Pool returns the current roots as a pool; do not modify it.
func (b *Bundle) Pool() *x509.CertPool { return b.snapshot().pool }

// Roots returns the current roots.
func (b *Bundle) Roots() []*x509.Certificate {
	return append([]*x509.Certificate(nil), b.snapshot().certs...)
}

func (b *Bundle) snapshot() *bundleSnapshot { return b.cur.Load() }
