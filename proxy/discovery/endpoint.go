package discovery

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
)

// Endpoint is one upstream instance as discovery reports it.
type Endpoint struct {
	// ID is the endpoint's stable identity; empty means Address.
	ID string `json:"id,omitempty" yaml:"id,omitempty"`
	// Address is the dial address, host:port.
	Address string `json:"address" yaml:"address"`
	// Zone is the endpoint's locality, for zone-aware balancing.
	Zone string `json:"zone,omitempty" yaml:"zone,omitempty"`
	// Weight is the load-balancing weight; 0 means 1.
	Weight int `json:"weight,omitempty" yaml:"weight,omitempty"`
}

// Validate reports whether e has a usable host:port address and a
// non-negative weight.
func (e Endpoint) Validate() error {
	host, port, err := net.SplitHostPort(e.Address)
	if err != nil {
		return fmt.Errorf("endpoint %q: address: %w", e.Address, err)
	}
	if host == "" {
		return fmt.Errorf("endpoint %q: address has no host", e.Address)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("endpoint %q: port %q is not in 1..65535", e.Address, port)
	}
	if e.Weight < 0 {
		return fmt.Errorf("endpoint %q: weight %d is negative", e.Address, e.Weight)
	}
	return nil
}

// Normalize returns a copy of eps with defaults filled in (ID from Address,
// Weight 1), sorted by ID, with later duplicates of an ID dropped. Providers
// push normalized sets, so Equal can compare them.
func Normalize(eps []Endpoint) []Endpoint {
	out := make([]Endpoint, 0, len(eps))
	for _, e := range eps {
		if e.ID == "" {
			e.ID = e.Address
		}
		if e.Weight <= 0 {
			e.Weight = 1
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b Endpoint) int { return cmp.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b Endpoint) bool { return a.ID == b.ID })
}

// Equal reports whether two normalized sets are the same.
func Equal(a, b []Endpoint) bool {
	return slices.Equal(a, b)
}
