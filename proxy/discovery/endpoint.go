package discovery

import (
	"cmp"
	"slices"

	"github.com/meshbench/meshbench/proxy/upstream"
)

// Endpoint is one upstream instance as discovery reports it. It is
// upstream.Endpoint, which configuration also lists, so that packages that
// must not depend on discovery's I/O (proxy/config) can name it.
type Endpoint = upstream.Endpoint

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
