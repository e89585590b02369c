package config

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TLSConfig terminates ordinary TLS on the primary listener (listen) with
// the gateway's own certificates, for public clients: as Envoy's
// DownstreamTlsContext or nginx's ssl_* directives. It is not mutual TLS
// between services (proxy/secure's security.listener, with SPIFFE
// identities); a configuration sets one or the other. The files are read
// when the proxy starts, on every Reload, and on a handshake once
// ReloadInterval has passed since they were last looked at, if one of them
// has changed: a rotated certificate takes new handshakes while open
// connections go on.
type TLSConfig struct {
	// Certificates are the listener's certificates. A client's SNI server
	// name picks the first whose ServerNames (or, when those are unset, the
	// certificate's own DNS names) match it, exactly or by a leading
	// "*." wildcard label; the first certificate answers clients whose
	// name matches none, or that send none. At least one is required.
	Certificates []CertificateConfig `yaml:"certificates,omitempty" json:"certificates,omitempty"`
	// MinVersion is the lowest TLS version accepted: "1.2" (the default)
	// or "1.3".
	MinVersion string `yaml:"minVersion,omitempty" json:"minVersion,omitempty"`
	// CipherSuites names the TLS 1.2 cipher suites offered, as Go spells
	// them (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ...); empty means Go's
	// defaults. Suites Go deems insecure are refused. TLS 1.3's suites are
	// not configurable.
	CipherSuites []string `yaml:"cipherSuites,omitempty" json:"cipherSuites,omitempty"`
	// ALPN lists the protocols offered by ALPN, in order of preference:
	// "h2" and "http/1.1"; default [h2, http/1.1]. Without h2 every client
	// gets HTTP/1.1.
	ALPN []string `yaml:"alpn,omitempty" json:"alpn,omitempty"`
	// ClientAuth asks clients for certificates: "none" (the default),
	// "request" (asked for, not verified), "verify-if-given" (verified
	// against ClientCAFile when sent) or "require" (required and
	// verified against ClientCAFile).
	ClientAuth string `yaml:"clientAuth,omitempty" json:"clientAuth,omitempty"`
	// ClientCAFile is the PEM bundle of CAs client certificates are
	// verified against; required by verify-if-given and require.
	ClientCAFile string `yaml:"clientCAFile,omitempty" json:"clientCAFile,omitempty"`
	// ReloadInterval is how often, at most, a handshake checks whether the
	// files have changed (modification time or size); default 10s. Reload
	// (SIGHUP, or a change of the configuration file) reads them anyway.
	ReloadInterval Duration `yaml:"reloadInterval,omitempty" json:"reloadInterval,omitempty"`
}

// CertificateConfig is one certificate of TLSConfig.
type CertificateConfig struct {
	// CertFile is the PEM certificate chain, leaf first.
	CertFile string `yaml:"certFile" json:"certFile"`
	// KeyFile is the PEM private key of the leaf.
	KeyFile string `yaml:"keyFile" json:"keyFile"`
	// ServerNames are the SNI names this certificate answers ("*.example.com"
	// matches one label); empty means the certificate's DNS names.
	ServerNames []string `yaml:"serverNames,omitempty" json:"serverNames,omitempty"`
	// OCSPStapleFile, when set, is a DER OCSP response stapled to the
	// handshake (read again with the certificate).
	OCSPStapleFile string `yaml:"ocspStapleFile,omitempty" json:"ocspStapleFile,omitempty"`
}

// Client authentication modes of TLSConfig.ClientAuth.
const (
	ClientAuthNone          = "none"
	ClientAuthRequest       = "request"
	ClientAuthVerifyIfGiven = "verify-if-given"
	ClientAuthRequire       = "require"
)

// ALPN protocol names TLSConfig.ALPN accepts.
const (
	ALPNH2     = "h2"
	ALPNHTTP11 = "http/1.1"
)

// DefaultTLSReloadInterval is what a zero TLSConfig.ReloadInterval means.
const DefaultTLSReloadInterval = 10 * time.Second

// TLSVersion returns the crypto/tls version MinVersion names, "" meaning
// TLS 1.2.
func (t *TLSConfig) TLSVersion() (uint16, error) {
	switch t.MinVersion {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	case "1.0", "1.1":
		return 0, fmt.Errorf("TLS %s is not accepted: want 1.2 or 1.3", t.MinVersion)
	}
	return 0, fmt.Errorf("unknown TLS version %q: want 1.2 or 1.3", t.MinVersion)
}

// CipherSuiteIDs returns the crypto/tls IDs of CipherSuites, nil for none.
func (t *TLSConfig) CipherSuiteIDs() ([]uint16, error) {
	var ids []uint16
	for _, name := range t.CipherSuites {
		id, err := cipherSuite(name)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func cipherSuite(name string) (uint16, error) {
	for _, s := range tls.CipherSuites() {
		if s.Name == name {
			if slices.Contains(s.SupportedVersions, tls.VersionTLS13) && !slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
				return 0, fmt.Errorf("%s is a TLS 1.3 suite, which is not configurable", name)
			}
			return s.ID, nil
		}
	}
	for _, s := range tls.InsecureCipherSuites() {
		if s.Name == name {
			return 0, fmt.Errorf("cipher suite %s is insecure", name)
		}
	}
	return 0, fmt.Errorf("unknown cipher suite %q", name)
}

// ClientAuthType returns the crypto/tls client authentication ClientAuth
// names.
func (t *TLSConfig) ClientAuthType() (tls.ClientAuthType, error) {
	switch t.ClientAuth {
	case "", ClientAuthNone:
		return tls.NoClientCert, nil
	case ClientAuthRequest:
		return tls.RequestClientCert, nil
	case ClientAuthVerifyIfGiven:
		return tls.VerifyClientCertIfGiven, nil
	case ClientAuthRequire:
		return tls.RequireAndVerifyClientCert, nil
	}
	return 0, fmt.Errorf("unknown clientAuth %q: want none, request, verify-if-given or require", t.ClientAuth)
}

// NextProtos returns the ALPN protocols offered, defaults applied.
func (t *TLSConfig) NextProtos() []string {
	if len(t.ALPN) == 0 {
		return []string{ALPNH2, ALPNHTTP11}
	}
	return slices.Clone(t.ALPN)
}

// check checks the section's values (the files are read by the proxy,
// which reports their problems under the same paths). Errors are relative
// to the section.
func (t *TLSConfig) check(errs *fieldErrors, p string) {
	if len(t.Certificates) == 0 {
		errs.add(p+".certificates", fmt.Errorf("at least one certificate is required"))
	}
	for i, c := range t.Certificates {
		cp := fmt.Sprintf("%s.certificates[%d]", p, i)
		if c.CertFile == "" {
			errs.add(cp+".certFile", fmt.Errorf("is required"))
		}
		if c.KeyFile == "" {
			errs.add(cp+".keyFile", fmt.Errorf("is required"))
		}
		for j, n := range c.ServerNames {
			if n == "" || strings.ContainsAny(n, " /:") || strings.Contains(strings.TrimPrefix(n, "*."), "*") {
				errs.add(fmt.Sprintf("%s.serverNames[%d]", cp, j), fmt.Errorf("%q is not a server name (a DNS name, or *. and one)", n))
			}
		}
	}
	if _, err := t.TLSVersion(); err != nil {
		errs.add(p+".minVersion", err)
	}
	for i, name := range t.CipherSuites {
		if _, err := cipherSuite(name); err != nil {
			errs.add(fmt.Sprintf("%s.cipherSuites[%d]", p, i), err)
		}
	}
	if len(t.CipherSuites) > 0 && t.MinVersion == "1.3" {
		errs.add(p+".cipherSuites", fmt.Errorf("only apply to TLS 1.2, which minVersion 1.3 refuses"))
	}
	seen := map[string]bool{}
	for i, proto := range t.ALPN {
		switch {
		case proto != ALPNH2 && proto != ALPNHTTP11:
			errs.add(fmt.Sprintf("%s.alpn[%d]", p, i), fmt.Errorf("unknown protocol %q: want h2 or http/1.1", proto))
		case seen[proto]:
			errs.add(fmt.Sprintf("%s.alpn[%d]", p, i), fmt.Errorf("%q listed twice", proto))
		}
		seen[proto] = true
	}
	ca, err := t.ClientAuthType()
	switch {
	case err != nil:
		errs.add(p+".clientAuth", err)
	case (ca == tls.VerifyClientCertIfGiven || ca == tls.RequireAndVerifyClientCert) && t.ClientCAFile == "":
		errs.add(p+".clientCAFile", fmt.Errorf("clientAuth %s needs the CAs to verify client certificates against", t.ClientAuth))
	case ca != tls.VerifyClientCertIfGiven && ca != tls.RequireAndVerifyClientCert && t.ClientCAFile != "":
		errs.add(p+".clientCAFile", fmt.Errorf("is only used by clientAuth verify-if-given or require"))
	}
	if t.ReloadInterval < 0 {
		errs.add(p+".reloadInterval", fmt.Errorf("must be positive"))
	}
}
