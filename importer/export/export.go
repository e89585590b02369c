// Package export writes a scenario variant as Istio resources or as a Kong
// declarative configuration, so that a design chosen with meshbench can be
// reviewed and applied. It is the inverse of packages importer/istio and
// importer/kong for every key both sides represent: importing an export
// gives back the variant's values (the round-trip tests check it). Keys
// the target cannot represent are listed in the returned notes, never
// dropped silently.
package export

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/meshbench/meshbench/importer"
	"github.com/meshbench/meshbench/scenarios"
)

// Output is what an export writes: one document or several (Istio), and
// notes about what the target cannot represent.
type Output struct {
	Text  string
	Notes []string
}

// variantOf finds the variant named and returns the plan as it runs (its
// weights in place) and the variant.
func variantOf(p *scenarios.Plan, name string) (*scenarios.Plan, *scenarios.Variant, error) {
	var names []string
	for i := range p.Variants {
		if p.Variants[i].Name == name || (name == "" && len(p.Variants) == 1) {
			vp := p.ForVariant(i)
			return vp, &vp.Variants[i], nil
		}
		names = append(names, p.Variants[i].Name)
	}
	if name == "" {
		return nil, nil, fmt.Errorf("the scenario has %d variants: name one with --variant (%s)", len(names), strings.Join(names, ", "))
	}
	return nil, nil, fmt.Errorf("no variant %q in the scenario (variants: %s)", name, strings.Join(names, ", "))
}

type notes []string

func (n *notes) add(format string, args ...any) { *n = append(*n, fmt.Sprintf(format, args...)) }

var subsetNameRE = regexp.MustCompile(`[^a-z0-9-]+`)

// subsets groups a service's replicas by their labels: one subset per
// distinct label set, in order of first replica, with the share of the
// replica weights it holds.
type subset struct {
	name    string
	labels  map[string]string
	weight  int // sum of its replicas' weights
	members int
}

func subsetsOf(svc *scenarios.Service) []subset {
	var out []subset
	for i, l := range svc.Labels {
		key := labelKey(l)
		j := slices.IndexFunc(out, func(s subset) bool { return labelKey(s.labels) == key })
		if j < 0 {
			name := subsetNameRE.ReplaceAllString(strings.ToLower(key), "-")
			if name == "" {
				name = "unlabelled"
			}
			out = append(out, subset{name: strings.Trim(name, "-"), labels: l})
			j = len(out) - 1
		}
		out[j].weight += svc.ReplicaWeight(i)
		out[j].members++
	}
	return out
}

func labelKey(l map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"-"+l[k])
	}
	return strings.Join(parts, "-")
}

// percents shares 100 between weights in proportion, rounding so that the
// shares sum to 100 (largest remainders first).
func percents(ws []int) []int {
	total := 0
	for _, w := range ws {
		total += w
	}
	out := make([]int, len(ws))
	if total == 0 {
		return out
	}
	type rem struct{ i, r int }
	var rems []rem
	sum := 0
	for i, w := range ws {
		out[i] = w * 100 / total
		sum += out[i]
		rems = append(rems, rem{i, w * 100 % total})
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return b.r - a.r })
	for k := 0; sum < 100; k++ {
		out[rems[k%len(rems)].i]++
		sum++
	}
	return out
}

func dur(d time.Duration) *importer.Node { return importer.Str(importer.FormatDuration(d)) }

func docs(nodes ...*importer.Node) string {
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = n.String()
	}
	return strings.Join(parts, "---\n")
}
