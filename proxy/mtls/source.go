package mtls

import (
	"crypto/tls"
	"errors"
	"sync/atomic"
)

// Source holds the current SVID of a workload and serves it to crypto/tls.
// GetCertificate and GetClientCertificate run on every handshake, so Set
// takes effect on the next handshake while established connections keep
// the certificate they negotiated. It is safe for concurrent use; reads take
// no lock.
type Source struct {
	cur atomic.Pointer[SVID]
}

// NewSource returns a source holding s.
func NewSource(s *SVID) *Source {
	src := &Source{}
	src.Set(s)
	return src
}

// SVID returns the current SVID.
func (s *Source) SVID() *SVID { return s.cur.Load() }

// Set replaces the current SVID.
func (s *Source) Set(svid *SVID) { s.cur.Store(svid) }

var errNoSVID = errors.New("mtls: no SVID")

// GetCertificate is a tls.Config.GetCertificate callback.
func (s *Source) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if v := s.cur.Load(); v != nil {
		return v.TLS, nil
	}
	return nil, errNoSVID
}

// GetClientCertificate is a tls.Config.GetClientCertificate callback.
func (s *Source) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if v := s.cur.Load(); v != nil {
		return v.TLS, nil
	}
	return nil, errNoSVID
}
