package mtls

import (
	"crypto/x509"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

func TestIssueSVID(t *testing.T) {
	ca := mustCA(t, "payments.example", epoch)
	s, err := ca.Issue(IssueRequest{ID: paymentsID, DNSNames: []string{"payments.prod.svc"}, TTL: 10 * time.Minute, Now: epoch})
	if err != nil {
		t.Fatal(err)
	}
	l := s.Leaf
	switch {
	case s.ID != paymentsID:
		t.Errorf("ID %s", s.ID)
	case len(l.URIs) != 1 || l.URIs[0].String() != paymentsID.String():
		t.Errorf("URI SANs %v", l.URIs)
	case l.IsCA:
		t.Error("leaf is a CA")
	case l.KeyUsage != x509.KeyUsageDigitalSignature:
		t.Errorf("key usage %v", l.KeyUsage)
	case len(l.ExtKeyUsage) != 2:
		t.Errorf("ext key usage %v", l.ExtKeyUsage)
	case !l.NotAfter.Equal(epoch.Add(10 * time.Minute)):
		t.Errorf("NotAfter %v", l.NotAfter)
	case !l.NotBefore.Equal(epoch.Add(-time.Minute)):
		t.Errorf("NotBefore %v", l.NotBefore)
	case len(l.DNSNames) != 1:
		t.Errorf("DNS %v", l.DNSNames)
	}
	if _, err := (&Verifier{Bundle: ca.Bundle(), Clock: fixedClock(epoch)}).VerifyChain([]*x509.Certificate{l}, x509.ExtKeyUsageClientAuth); err != nil {
		t.Fatalf("the CA's own leaf does not verify: %v", err)
	}
	if ca.Cert.URIs[0].String() != "spiffe://payments.example" {
		t.Errorf("CA URI SAN %v", ca.Cert.URIs)
	}
}

func TestIssueErrors(t *testing.T) {
	ca := mustCA(t, "payments.example", epoch)
	other := spiffeid.RequireFromString("spiffe://other.example/sa/x")
	for _, tc := range []struct {
		name string
		req  IssueRequest
	}{
		{"no id", IssueRequest{Now: epoch}},
		{"no now", IssueRequest{ID: paymentsID}},
		{"other trust domain", IssueRequest{ID: other, Now: epoch}},
		{"negative ttl", IssueRequest{ID: paymentsID, Now: epoch, TTL: -time.Second}},
		{"after the CA expired", IssueRequest{ID: paymentsID, Now: epoch.Add(2 * DefaultCATTL)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ca.Issue(tc.req); err == nil {
				t.Fatal("issued")
			}
		})
	}
	// A CA without a trust domain issues in any.
	if _, err := mustCA(t, "", epoch).Issue(IssueRequest{ID: other, Now: epoch}); err != nil {
		t.Fatal(err)
	}
}

func TestIssueTTLCutToCAExpiry(t *testing.T) {
	ca, err := NewCA(CAOptions{Now: epoch, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s := mustIssue(t, ca, paymentsID, epoch.Add(50*time.Minute), time.Hour)
	if !s.Leaf.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Fatalf("NotAfter %v, CA NotAfter %v", s.Leaf.NotAfter, ca.Cert.NotAfter)
	}
}

func TestIDFromCert(t *testing.T) {
	u := func(s string) *url.URL { v, _ := url.Parse(s); return v }
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		ok   bool
	}{
		{"one spiffe uri", &x509.Certificate{URIs: []*url.URL{u("spiffe://td/sa/x")}}, true},
		{"ca", &x509.Certificate{IsCA: true, URIs: []*url.URL{u("spiffe://td/sa/x")}}, false},
		{"no uri", &x509.Certificate{}, false},
		{"two uris", &x509.Certificate{URIs: []*url.URL{u("spiffe://td/a"), u("spiffe://td/b")}}, false},
		{"https uri", &x509.Certificate{URIs: []*url.URL{u("https://td/a")}}, false},
		{"upper-case trust domain", &x509.Certificate{URIs: []*url.URL{u("spiffe://TD/a")}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := IDFromCert(tc.cert); (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestInitAndLoadCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	ca, err := InitCA(dir, CAOptions{TrustDomain: "payments.example", Now: epoch}, false)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, CAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key: %v %v", fi.Mode(), err)
	}
	if _, err := InitCA(dir, CAOptions{Now: epoch}, false); !errors.Is(err, ErrExists) {
		t.Fatalf("second init: %v, want ErrExists", err)
	}
	loaded, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) || loaded.TrustDomain != ca.TrustDomain {
		t.Fatal("loaded CA differs")
	}
	// The loaded CA's key signs leaves that chain to the written root.
	s := mustIssue(t, loaded, paymentsID, epoch, time.Hour)
	b, err := LoadBundle(filepath.Join(dir, CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Verifier{Bundle: b, Clock: fixedClock(epoch)}).VerifyChain([]*x509.Certificate{s.Leaf}, x509.ExtKeyUsageServerAuth); err != nil {
		t.Fatal(err)
	}
	forced, err := InitCA(dir, CAOptions{Now: epoch}, true)
	if err != nil {
		t.Fatal(err)
	}
	if forced.Cert.Equal(ca.Cert) {
		t.Fatal("--force did not replace the CA")
	}
	// A key from another CA is refused.
	other := t.TempDir()
	if _, err := InitCA(other, CAOptions{Now: epoch}, false); err != nil {
		t.Fatal(err)
	}
	k, _ := os.ReadFile(filepath.Join(other, CAKeyFile))
	os.WriteFile(filepath.Join(dir, CAKeyFile), k, 0o600)
	if _, err := LoadCA(dir); err == nil {
		t.Fatal("loaded a CA with a foreign key")
	}
}

func TestWriteLoadSVID(t *testing.T) {
	ca := mustCA(t, "payments.example", epoch)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "p.crt"), filepath.Join(dir, "p.key")
	s := mustIssue(t, ca, paymentsID, epoch, time.Hour)
	if err := WriteSVID(s, cert, key); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSVID(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != paymentsID || !got.Leaf.Equal(s.Leaf) {
		t.Fatal("round trip changed the SVID")
	}
	// A key of another SVID does not load with this certificate.
	s2 := mustIssue(t, ca, riskID, epoch, time.Hour)
	k2, _ := s2.KeyPEM()
	os.WriteFile(key, k2, 0o600)
	if _, err := LoadSVID(cert, key); err == nil {
		t.Fatal("loaded a mismatched pair")
	}
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }
