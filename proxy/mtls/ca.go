package mtls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Files of a CA directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// Defaults of CAOptions and IssueRequest.
const (
	DefaultCATTL   = 365 * 24 * time.Hour
	DefaultLeafTTL = time.Hour // SPIRE's default X509-SVID TTL
	maxBackdate    = time.Minute
)

// CA is a certificate authority that signs X509-SVIDs: one self-signed
// ECDSA P-256 root, no intermediates (MaxPathLen 0).
type CA struct {
	// Cert is the root certificate, the trust anchor peers verify against.
	Cert *x509.Certificate
	// Key signs the leaves.
	Key crypto.Signer
	// TrustDomain restricts the IDs the CA issues; zero means any.
	TrustDomain spiffeid.TrustDomain
}

// CAOptions configures a new CA.
type CAOptions struct {
	// TrustDomain, when set ("payments.example"), is written as the CA's URI
	// SAN (spiffe://payments.example) and the CA issues only IDs in it.
	TrustDomain string
	// CommonName is the root's subject CN (default "meshbench CA").
	CommonName string
	// TTL is the root's lifetime (default one year).
	TTL time.Duration
	// Now is the issuance time (required: the CLI passes time.Now()).
	Now time.Time
}

// NewCA creates a CA in memory.
func NewCA(opts CAOptions) (*CA, error) {
	if opts.Now.IsZero() {
		return nil, errors.New("new ca: Now is required")
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultCATTL
	}
	if opts.TTL < 0 {
		return nil, fmt.Errorf("new ca: negative ttl %v", opts.TTL)
	}
	if opts.CommonName == "" {
		opts.CommonName = "meshbench CA"
	}
	ca := &CA{}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: opts.CommonName, Organization: []string{"meshbench"}},
		NotBefore:             opts.Now.Add(-backdate(opts.TTL)),
		NotAfter:              opts.Now.Add(opts.TTL),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	if opts.TrustDomain != "" {
		td, err := spiffeid.TrustDomainFromString(opts.TrustDomain)
		if err != nil {
			return nil, fmt.Errorf("new ca: trust domain: %w", err)
		}
		ca.TrustDomain = td
		tmpl.URIs = []*url.URL{td.ID().URL()}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	if tmpl.SerialNumber, err = serial(); err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	if ca.Cert, err = x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	ca.Key = key
	return ca, nil
}

// backdate is how far before now a certificate starts, to absorb clock
// skew between peers: a minute, or a tenth of a short lifetime.
func backdate(ttl time.Duration) time.Duration { return min(maxBackdate, ttl/10) }

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

// ErrExists reports that InitCA found a CA in the directory and was not
// told to overwrite it.
var ErrExists = errors.New("ca files exist")

// InitCA creates a CA and writes ca.crt and ca.key (mode 0600) into dir,
// creating dir. It refuses to replace existing files unless force is set:
// replacing a CA invalidates every certificate it issued.
func InitCA(dir string, opts CAOptions, force bool) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	if !force {
		for _, p := range []string{certPath, keyPath} {
			if _, err := os.Stat(p); err == nil {
				return nil, fmt.Errorf("init ca: %s: %w (use --force to replace it)", p, ErrExists)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("init ca: %w", err)
			}
		}
	}
	ca, err := NewCA(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("init ca: %w", err)
	}
	k, err := keyPEM(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("init ca: %w", err)
	}
	if err := writeFileAtomic(keyPath, k, 0o600); err != nil {
		return nil, fmt.Errorf("init ca: %w", err)
	}
	if err := writeFileAtomic(certPath, ca.CertPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("init ca: %w", err)
	}
	return ca, nil
}

// LoadCA reads the CA written by InitCA in dir.
func LoadCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	certs, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca %s: %w", certPath, err)
	}
	kPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	key, err := parseKeyPEM(kPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca %s: %w", keyPath, err)
	}
	ca := &CA{Cert: certs[0], Key: key}
	if !ca.Cert.IsCA {
		return nil, fmt.Errorf("load ca %s: not a CA certificate", certPath)
	}
	if !publicKeysEqual(ca.Cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("load ca: %s does not belong to %s", keyPath, certPath)
	}
	if len(ca.Cert.URIs) == 1 {
		td, err := spiffeid.TrustDomainFromURI(ca.Cert.URIs[0])
		if err != nil {
			return nil, fmt.Errorf("load ca %s: %w", certPath, err)
		}
		ca.TrustDomain = td
	}
	return ca, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// CertPEM returns the root certificate in PEM: the bundle to distribute.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Bundle returns a trust bundle holding the CA's root.
func (ca *CA) Bundle() *Bundle { return NewBundle(ca.Cert) }

// IssueRequest asks for one X509-SVID.
type IssueRequest struct {
	// ID is the SPIFFE ID (required).
	ID spiffeid.ID
	// DNSNames are added as DNS SANs, for clients that verify host names.
	DNSNames []string
	// TTL is the lifetime (default one hour); it is cut to the CA's own
	// expiry.
	TTL time.Duration
	// Now is the issuance time (required).
	Now time.Time
}

// Issue signs a new SVID for req.ID with a fresh ECDSA P-256 key.
func (ca *CA) Issue(req IssueRequest) (*SVID, error) {
	if req.ID.IsZero() {
		return nil, errors.New("issue: no SPIFFE ID")
	}
	if req.Now.IsZero() {
		return nil, errors.New("issue: Now is required")
	}
	if !ca.TrustDomain.IsZero() && !req.ID.MemberOf(ca.TrustDomain) {
		return nil, fmt.Errorf("issue %s: the CA only issues in trust domain %s", req.ID, ca.TrustDomain)
	}
	if req.TTL == 0 {
		req.TTL = DefaultLeafTTL
	}
	if req.TTL < 0 {
		return nil, fmt.Errorf("issue %s: negative ttl %v", req.ID, req.TTL)
	}
	notAfter := req.Now.Add(req.TTL)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	if !notAfter.After(req.Now) {
		return nil, fmt.Errorf("issue %s: the CA expired at %s", req.ID, ca.Cert.NotAfter.Format(time.RFC3339))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", req.ID, err)
	}
	sn, err := serial()
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", req.ID, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Organization: []string{"meshbench"}},
		NotBefore:             req.Now.Add(-backdate(req.TTL)),
		NotAfter:              notAfter,
		URIs:                  []*url.URL{req.ID.URL()},
		DNSNames:              req.DNSNames,
		BasicConstraintsValid: true,
		IsCA:                  false,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", req.ID, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", req.ID, err)
	}
	return newSVID(leaf, key)
}
