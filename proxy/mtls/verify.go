package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Verifier verifies a peer by its X509-SVID: the chain must reach a root of
// Bundle at the time Clock tells, the leaf must carry one SPIFFE ID, and
// Authorize, when set, must accept the ID. Host names play no part (SPIFFE
// authenticates workloads, not DNS names), which is why ClientConfig turns
// crypto/tls's own server verification off and runs this instead.
type Verifier struct {
	// Bundle holds the trust anchors (required).
	Bundle *Bundle
	// Authorize accepts or refuses a verified peer ID at handshake time
	// (nil: any ID). Route-level authorization is Authz's job; this is for
	// coarse gates (AuthorizeMemberOf) and for clients pinning the server
	// they dial (AuthorizeID).
	Authorize func(spiffeid.ID) error
	// Clock tells the time for expiry checks (default time.Now).
	Clock func() time.Time
}

// AuthorizeID accepts exactly these IDs.
func AuthorizeID(ids ...spiffeid.ID) func(spiffeid.ID) error {
	return func(id spiffeid.ID) error {
		for _, want := range ids {
			if id == want {
				return nil
			}
		}
		return fmt.Errorf("peer %s is not an expected identity", id)
	}
}

// AuthorizeMemberOf accepts IDs of trust domain td.
func AuthorizeMemberOf(td spiffeid.TrustDomain) func(spiffeid.ID) error {
	return func(id spiffeid.ID) error {
		if id.MemberOf(td) {
			return nil
		}
		return fmt.Errorf("peer %s is not in trust domain %s", id, td)
	}
}

func (v *Verifier) now() time.Time {
	if v.Clock == nil {
		return time.Now()
	}
	return v.Clock()
}

// VerifyChain verifies a peer's certificates (leaf first) for usage
// (x509.ExtKeyUsageClientAuth when the peer is a client, ServerAuth when it
// is a server) and returns its SPIFFE ID.
func (v *Verifier) VerifyChain(certs []*x509.Certificate, usage x509.ExtKeyUsage) (spiffeid.ID, error) {
	if len(certs) == 0 {
		return spiffeid.ID{}, errors.New("mtls: peer sent no certificate")
	}
	id, err := IDFromCert(certs[0])
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("mtls: %w", err)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err = certs[0].Verify(x509.VerifyOptions{
		Roots:         v.Bundle.Pool(),
		Intermediates: inter,
		CurrentTime:   v.now(),
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("mtls: peer %s: %w", id, err)
	}
	if v.Authorize != nil {
		if err := v.Authorize(id); err != nil {
			return spiffeid.ID{}, fmt.Errorf("mtls: %w", err)
		}
	}
	return id, nil
}

// VerifyPeerCertificate returns a tls.Config.VerifyPeerCertificate callback
// that verifies the raw chain for usage. It is what ClientConfig installs;
// crypto/tls does not call it on resumed sessions, which ClientConfig does
// not enable.
func (v *Verifier) VerifyPeerCertificate(usage x509.ExtKeyUsage) func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	return func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
		certs := make([]*x509.Certificate, 0, len(rawCerts))
		for _, raw := range rawCerts {
			c, err := x509.ParseCertificate(raw)
			if err != nil {
				return fmt.Errorf("mtls: parse peer certificate: %w", err)
			}
			certs = append(certs, c)
		}
		_, err := v.VerifyChain(certs, usage)
		return err
	}
}

// verifyServerSide is ServerConfig's VerifyConnection: crypto/tls has
// already verified the client's chain against the bundle (so
// VerifiedChains is set, which Authz relies on); this checks the SPIFFE ID
// and Authorize, on every connection including resumed ones.
func (v *Verifier) verifyServerSide(cs tls.ConnectionState) error {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return errors.New("mtls: client certificate not verified")
	}
	id, err := IDFromCert(cs.VerifiedChains[0][0])
	if err != nil {
		return fmt.Errorf("mtls: %w", err)
	}
	if v.Authorize != nil {
		if err := v.Authorize(id); err != nil {
			return fmt.Errorf("mtls: %w", err)
		}
	}
	return nil
}
