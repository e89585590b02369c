package secure

import (
	"cmp"
	"errors"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/mtls"
)

// identity is one SVID with its bundle and rotation.
type identity struct {
	name   string
	cfg    IdentityConfig
	src    *mtls.Source
	bundle *mtls.Bundle
	rot    *mtls.Rotator
}

// newIdentity loads or issues an identity's first SVID and its bundle.
func (l *layer) newIdentity(ic IdentityConfig, p string) (*identity, error) {
	var (
		issuer mtls.Issuer
		bundle *mtls.Bundle
		name   = ic.SPIFFEID
	)
	caIssuer := func(ca *mtls.CA) (mtls.Issuer, error) {
		id, err := spiffeid.FromString(ic.SPIFFEID)
		if err != nil {
			return nil, &config.ConfigError{Path: p + ".spiffeId", Err: err}
		}
		return &mtls.CAIssuer{CA: ca, ID: id, TTL: ic.TTL.D()}, nil
	}
	switch {
	case ic.CertFile != "":
		issuer, name = &mtls.FileIssuer{CertFile: ic.CertFile, KeyFile: ic.KeyFile}, cmp.Or(name, ic.CertFile)
	case ic.CADir != "":
		ca, err := mtls.LoadCA(ic.CADir)
		if err != nil {
			return nil, &config.ConfigError{Path: p + ".caDir", Err: err}
		}
		if issuer, err = caIssuer(ca); err != nil {
			return nil, err
		}
		bundle = ca.Bundle()
	case l.cfg.CA != nil:
		var err error
		if issuer, err = caIssuer(l.cfg.CA); err != nil {
			return nil, err
		}
		bundle = l.cfg.CA.Bundle()
	default:
		return nil, &config.ConfigError{Path: p, Err: errors.New("no certFile, no caDir and no in-process CA to issue the certificate")}
	}
	if ic.CABundle != "" {
		b, err := mtls.LoadBundle(ic.CABundle)
		if err != nil {
			return nil, &config.ConfigError{Path: p + ".caBundle", Err: err}
		}
		bundle = b
	}
	svid, err := issuer.Issue(l.clock())
	if err != nil {
		return nil, &config.ConfigError{Path: p, Err: fmt.Errorf("first certificate: %w", err)}
	}
	if ic.SPIFFEID != "" && svid.ID.String() != ic.SPIFFEID {
		return nil, &config.ConfigError{Path: p + ".spiffeId", Err: fmt.Errorf("the certificate is for %s, not %s", svid.ID, ic.SPIFFEID)}
	}
	src := mtls.NewSource(svid)
	rot := mtls.NewRotator(src, issuer, mtls.RotationPolicy{RenewFraction: ic.Rotation.RenewFraction, RetryInterval: ic.Rotation.RetryInterval.D()})
	rot.OnRotate = func(n *mtls.SVID) {
		l.log.Info("svid rotated", "id", n.ID.String(), "serial", n.Leaf.SerialNumber.String(), "not_after", n.NotAfter())
		l.closeIdle()
	}
	return &identity{name: name, cfg: ic, src: src, bundle: bundle, rot: rot}, nil
}

// authorizePeers turns SPIFFE ID patterns into a handshake-time check; nil
// accepts every ID.
func authorizePeers(patterns []string) func(spiffeid.ID) error {
	if len(patterns) == 0 {
		return nil
	}
	ps := make([]mtls.Pattern, 0, len(patterns))
	for _, s := range patterns {
		if p, err := mtls.ParsePattern(s); err == nil { // validated before
			ps = append(ps, p)
		}
	}
	return func(id spiffeid.ID) error {
		s := id.String()
		for _, p := range ps {
			if p.Match(s) {
				return nil
			}
		}
		return fmt.Errorf("peer %s matches none of %v", s, patterns)
	}
}
