package mtls

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

func keyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parseCertPEM returns the certificates of a PEM file's CERTIFICATE blocks.
func parseCertPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no CERTIFICATE block")
	}
	return out, nil
}

func parseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no PRIVATE KEY block")
		}
		if b.Type != "PRIVATE KEY" {
			continue
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("a %T cannot sign", k)
		}
		return s, nil
	}
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so a reader (FileIssuer) sees the old file or the
// new one, never half of one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// WriteSVID writes s's certificate and key (mode 0600) to certFile and
// keyFile, each atomically. The key is written first: a reader that loads
// between the two renames finds a mismatched pair, fails, and retries
// later (FileIssuer), rather than pairing a new certificate with an old key
// silently.
func WriteSVID(s *SVID, certFile, keyFile string) error {
	k, err := s.KeyPEM()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(keyFile, k, 0o600); err != nil {
		return fmt.Errorf("write svid key: %w", err)
	}
	if err := writeFileAtomic(certFile, s.CertPEM(), 0o644); err != nil {
		return fmt.Errorf("write svid cert: %w", err)
	}
	return nil
}

// LoadSVID reads an SVID written by WriteSVID (or any PEM leaf and PKCS #8
// key), checking that the key belongs to the certificate and that the
// certificate is an X509-SVID.
func LoadSVID(certFile, keyFile string) (*SVID, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("load svid: %w", err)
	}
	kPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("load svid: %w", err)
	}
	if _, err := tls.X509KeyPair(certPEM, kPEM); err != nil {
		return nil, fmt.Errorf("load svid %s: %w", certFile, err)
	}
	certs, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load svid %s: %w", certFile, err)
	}
	key, err := parseKeyPEM(kPEM)
	if err != nil {
		return nil, fmt.Errorf("load svid %s: %w", keyFile, err)
	}
	s, err := newSVID(certs[0], key)
	if err != nil {
		return nil, fmt.Errorf("load svid %s: %w", certFile, err)
	}
	return s, nil
}
