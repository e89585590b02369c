package mtls

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// SVID is an X.509 SPIFFE Verifiable Identity Document: a leaf certificate
// for one SPIFFE ID and its private key.
type SVID struct {
	// ID is the SPIFFE ID in the leaf's URI SAN.
	ID spiffeid.ID
	// Leaf is the certificate.
	Leaf *x509.Certificate
	// Key is the leaf's private key.
	Key crypto.Signer
	// TLS is Leaf and Key ready for crypto/tls (Leaf set).
	TLS *tls.Certificate
}

// NotAfter is when the SVID expires.
func (s *SVID) NotAfter() time.Time { return s.Leaf.NotAfter }

// CertPEM returns the leaf certificate in PEM.
func (s *SVID) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Leaf.Raw})
}

// KeyPEM returns the private key in PKCS #8 PEM.
func (s *SVID) KeyPEM() ([]byte, error) { return keyPEM(s.Key) }

func newSVID(leaf *x509.Certificate, key crypto.Signer) (*SVID, error) {
	id, err := IDFromCert(leaf)
	if err != nil {
		return nil, err
	}
	return &SVID{ID: id, Leaf: leaf, Key: key, TLS: &tls.Certificate{
		Certificate: [][]byte{leaf.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}}, nil
}

// IDFromCert returns the SPIFFE ID of an X509-SVID leaf, checking what the
// SPIFFE X509-SVID specification requires of one: exactly one URI SAN, a
// valid spiffe:// ID, and not a CA certificate.
func IDFromCert(c *x509.Certificate) (spiffeid.ID, error) {
	if c.IsCA {
		return spiffeid.ID{}, errors.New("svid: leaf is a CA certificate")
	}
	if len(c.URIs) != 1 {
		return spiffeid.ID{}, fmt.Errorf("svid: leaf has %d URI SANs, want exactly 1", len(c.URIs))
	}
	id, err := spiffeid.FromURI(c.URIs[0])
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("svid: %w", err)
	}
	return id, nil
}
