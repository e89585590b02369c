package access

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// IPRestrictionConfig lists client address ranges as CIDRs ("10.0.0.0/8")
// or single addresses ("127.1.0.7").
type IPRestrictionConfig struct {
	// Allow lists the ranges admitted; empty admits every address not denied.
	Allow []string `yaml:"allow,omitempty" json:"allow,omitempty"`
	// Deny lists the ranges refused; deny wins over allow.
	Deny []string `yaml:"deny,omitempty" json:"deny,omitempty"`
}

// IPRestriction admits or refuses a request by its client address, with
// Kong's ip-restriction semantics: an address in a denied range is refused
// even when an allowed range holds it too; when an allow list is given an
// address outside it is refused; otherwise it is admitted. An IPv4-mapped
// IPv6 address is judged as its IPv4 address.
type IPRestriction struct {
	allow, deny []netip.Prefix
}

// ErrAddressNotAllowed is the refusal of an address the lists refuse.
var ErrAddressNotAllowed = errors.New("access: client address not allowed")

// NewIPRestriction builds the lists c describes; a malformed entry is an
// error that names it.
func NewIPRestriction(c IPRestrictionConfig) (*IPRestriction, error) {
	if len(c.Allow) == 0 && len(c.Deny) == 0 {
		return nil, errors.New("ipRestriction: give allow or deny (or both)")
	}
	r := &IPRestriction{}
	var err error
	if r.allow, err = ParsePrefixes(c.Allow); err != nil {
		return nil, fmt.Errorf("ipRestriction: allow: %w", err)
	}
	if r.deny, err = ParsePrefixes(c.Deny); err != nil {
		return nil, fmt.Errorf("ipRestriction: deny: %w", err)
	}
	return r, nil
}

// ParsePrefixes parses CIDRs and single addresses (a /32 or /128).
func ParsePrefixes(xs []string) ([]netip.Prefix, error) {
	ps := make([]netip.Prefix, 0, len(xs))
	for i, x := range xs {
		p, err := ParsePrefix(x)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// ParsePrefix parses a CIDR or a single address, masked to its prefix.
func ParsePrefix(x string) (netip.Prefix, error) {
	if !strings.Contains(x, "/") {
		a, err := netip.ParseAddr(x)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an address", x)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(x)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", x)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Check returns nil when addr may pass, ErrAddressNotAllowed when not. An
// invalid address (the caller could not read one) matches no range.
func (r *IPRestriction) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	for _, p := range r.deny {
		if p.Contains(addr) {
			return ErrAddressNotAllowed
		}
	}
	if len(r.allow) == 0 {
		return nil
	}
	for _, p := range r.allow {
		if p.Contains(addr) {
			return nil
		}
	}
	return ErrAddressNotAllowed
}
