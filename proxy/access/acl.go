package access

import (
	"errors"
	"fmt"
	"slices"
)

// ACLConfig is one route's access-control list over consumer groups.
type ACLConfig struct {
	// Allow lists the groups admitted; empty admits every group not denied.
	Allow []string `yaml:"allow,omitempty" json:"allow,omitempty"`
	// Deny lists the groups refused; deny wins over allow.
	Deny []string `yaml:"deny,omitempty" json:"deny,omitempty"`
	// Groups maps each group to the consumers (auth.Consumer IDs: a JWT's
	// sub, an API key's name) that belong to it.
	Groups map[string][]string `yaml:"groups,omitempty" json:"groups,omitempty"`
}

// ACL admits or refuses a verified consumer by the groups it belongs to,
// with Kong's acl semantics: a consumer in any denied group is refused
// (deny wins); when an allow list is given, a consumer in none of its
// groups is refused; otherwise it is admitted. A request without a
// verified consumer belongs to no group.
type ACL struct {
	allow, deny map[string]bool
	groups      map[string][]string // consumer → groups
}

// ErrNotAllowed is the refusal of a consumer the ACL does not admit.
var ErrNotAllowed = errors.New("access: consumer not allowed")

// NewACL builds the ACL c describes.
func NewACL(c ACLConfig) (*ACL, error) {
	if len(c.Allow) == 0 && len(c.Deny) == 0 {
		return nil, errors.New("acl: give allow or deny (or both)")
	}
	a := &ACL{allow: set(c.Allow), deny: set(c.Deny), groups: map[string][]string{}}
	for g, members := range c.Groups {
		if g == "" {
			return nil, errors.New("acl: a group without a name")
		}
		for _, m := range members {
			if m == "" {
				return nil, fmt.Errorf("acl: group %s: an empty consumer", g)
			}
			if !slices.Contains(a.groups[m], g) {
				a.groups[m] = append(a.groups[m], g)
			}
		}
	}
	return a, nil
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Groups are the groups consumer belongs to.
func (a *ACL) Groups(consumer string) []string { return a.groups[consumer] }

// Check returns nil when consumer ("" for none) may pass, ErrNotAllowed
// when not.
func (a *ACL) Check(consumer string) error {
	gs := a.groups[consumer]
	for _, g := range gs {
		if a.deny[g] {
			return ErrNotAllowed
		}
	}
	if len(a.allow) == 0 {
		return nil
	}
	for _, g := range gs {
		if a.allow[g] {
			return nil
		}
	}
	return ErrNotAllowed
}
