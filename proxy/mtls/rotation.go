package mtls

import (
	"crypto/x509"
	"fmt"
	"sync"
	"time"
)

// Defaults of RotationPolicy.
const (
	DefaultRenewFraction = 0.5 // SPIRE agents renew SVIDs at half their lifetime
	DefaultRetryInterval = 5 * time.Second
)

// RotationPolicy decides when a certificate is renewed. Its methods are pure
// functions of the certificate and the time they are told.
type RotationPolicy struct {
	// RenewFraction is the fraction of the lifetime (NotBefore to NotAfter)
	// after which the certificate is renewed, in (0, 1] (default 0.5).
	RenewFraction float64
	// RetryInterval is the wait after a failed renewal (default 5s).
	RetryInterval time.Duration
}

func (p RotationPolicy) withDefaults() RotationPolicy {
	if p.RenewFraction <= 0 || p.RenewFraction > 1 {
		p.RenewFraction = DefaultRenewFraction
	}
	if p.RetryInterval <= 0 {
		p.RetryInterval = DefaultRetryInterval
	}
	return p
}

// RenewAt is when leaf should be replaced.
func (p RotationPolicy) RenewAt(leaf *x509.Certificate) time.Time {
	p = p.withDefaults()
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return leaf.NotBefore.Add(time.Duration(float64(life) * p.RenewFraction))
}

// Due reports whether leaf should be replaced at now.
func (p RotationPolicy) Due(now time.Time, leaf *x509.Certificate) bool {
	return !now.Before(p.RenewAt(leaf))
}

// Issuer supplies a new SVID: CAIssuer signs one, FileIssuer reads one.
type Issuer interface {
	Issue(now time.Time) (*SVID, error)
}

// Rotator keeps a Source's SVID fresh: Tick replaces it when the policy says
// it is due, Rotate replaces it unconditionally. It neither reads the clock
// nor sleeps — Runner drives it in the proxy, tests drive it directly. It is
// safe for concurrent use.
type Rotator struct {
	src    *Source
	issuer Issuer
	policy RotationPolicy
	// OnRotate, when set before use, is called after each replacement with
	// the new SVID (for logs and metrics).
	OnRotate func(*SVID)

	mu       sync.Mutex
	failedAt time.Time // last failed renewal; zero after a success
	lastErr  error
}

// NewRotator returns a rotator of src's SVID.
func NewRotator(src *Source, issuer Issuer, policy RotationPolicy) *Rotator {
	return &Rotator{src: src, issuer: issuer, policy: policy.withDefaults()}
}

// Next is when Tick next has work to do: the current SVID's RenewAt, or,
// after a failed renewal, RetryInterval after the failure; never before now.
func (r *Rotator) Next(now time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nextLocked(now)
}

func (r *Rotator) nextLocked(now time.Time) time.Time {
	var at time.Time
	if cur := r.src.SVID(); cur == nil {
		at = now
	} else {
		at = r.policy.RenewAt(cur.Leaf)
	}
	if !r.failedAt.IsZero() {
		at = r.failedAt.Add(r.policy.RetryInterval)
	}
	if at.Before(now) {
		return now
	}
	return at
}

// Tick renews the SVID if it is due at now (and a failed renewal is not
// waiting out its retry interval), reporting whether it did.
func (r *Rotator) Tick(now time.Time) (bool, error) { return r.rotate(now, false) }

// Rotate renews the SVID now, whatever the policy says.
func (r *Rotator) Rotate(now time.Time) error {
	_, err := r.rotate(now, true)
	return err
}

// Err returns the error of the last renewal, nil once one succeeds.
func (r *Rotator) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

func (r *Rotator) rotate(now time.Time, force bool) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !force && !r.nextLocked(now).Equal(now) {
		return false, nil
	}
	next, err := r.issuer.Issue(now)
	if err == nil {
		// A reload that finds the same certificate (not renewed on disk
		// yet) is a failure to renew: retry after the interval.
		if cur := r.src.SVID(); cur != nil && next.Leaf.Equal(cur.Leaf) {
			err = fmt.Errorf("rotate %s: the issuer returned the current certificate", cur.ID)
		}
	}
	if err != nil {
		r.failedAt, r.lastErr = now, err
		return false, err
	}
	r.src.Set(next)
	r.failedAt, r.lastErr = time.Time{}, nil
	if r.OnRotate != nil {
		r.OnRotate(next)
	}
	return true, nil
}
