package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Replica weights. A service's replicas share its load in proportion to
// their weights, as Envoy's endpoint load_balancing_weight: weights lists
// one weight per replica, zoneWeights one per zone (every replica in the
// zone gets it), and without either every replica weighs 1. A variant's
// weights replace a service's for that variant, so that one fleet can be
// compared with a canary replica taking 1%, 10% or an equal share. Every
// balancer honours them (weighted_round_robin exactly, random, least_request,
// peak_ewma, ring_hash, maglev and ip_hash in proportion) except
// round_robin, the plain rotation, which validation refuses them with.

// maxWeight bounds a replica's weight, as Envoy bounds
// load_balancing_weight (a uint32 there); ours keeps sums of many weights
// far from overflow.
const maxWeight = 1_000_000

// ReplicaWeight is the load-balancing weight of replica i: its entry in
// weights, else its zone's in zoneWeights, else 1.
func (s *Service) ReplicaWeight(i int) int {
	switch {
	case i >= 0 && i < len(s.Weights):
		return s.Weights[i]
	case len(s.ZoneWeights) > 0:
		if w, ok := s.ZoneWeights[s.ReplicaZone(i)]; ok {
			return w
		}
	}
	return 1
}

// Weighted reports whether the service's replicas carry weights.
func (s *Service) Weighted() bool { return len(s.Weights) > 0 || len(s.ZoneWeights) > 0 }

// equalWeights reports whether every replica of s weighs the same.
func (s *Service) equalWeights() bool {
	for i := 1; i < s.Replicas; i++ {
		if s.ReplicaWeight(i) != s.ReplicaWeight(0) {
			return false
		}
	}
	return true
}

// applyVariantWeights gives the services variant i names its weights, in
// place of theirs (ForVariant, on a copy).
func (p *Plan) applyVariantWeights(i int) {
	for name, ws := range p.Variants[i].Weights {
		for j := range p.Services {
			if p.Services[j].Name == name {
				p.Services[j].Weights = slices.Clone(ws)
				p.Services[j].ZoneWeights = nil
			}
		}
	}
}

// weights checks the services' weights and the variants' overrides: one
// positive weight per replica, one per zone of the service, and no
// weights under a balancer that ignores them.
func (v *validator) weights() {
	for i := range v.s.Services {
		svc := &v.s.Services[i]
		path := fmt.Sprintf("topology.services[%d]", i)
		if len(svc.Weights) > 0 && len(svc.ZoneWeights) > 0 {
			v.errorf(path+".zoneWeights", "give weights or zoneWeights, not both")
		}
		v.replicaWeights(path+".weights", svc, svc.Weights)
		if len(svc.ZoneWeights) == 0 || v.failed(path+".zoneWeights") {
			continue
		}
		zones := svc.Zones
		if svc.Zone != "" {
			zones = []string{svc.Zone}
		}
		if len(zones) == 0 {
			v.errorf(path+".zoneWeights", "service %s names no zone: give zone or zones, or per-replica weights", svc.Name)
			continue
		}
		for _, z := range slices.Sorted(maps.Keys(svc.ZoneWeights)) {
			switch w := svc.ZoneWeights[z]; {
			case !slices.Contains(zones, z):
				v.errorf(path+".zoneWeights."+z, "service %s has no replica in zone %q%s", svc.Name, z, hintOrList(z, zones))
			case w < 1 || w > maxWeight:
				v.errorf(path+".zoneWeights."+z, "weight %d: must be from 1 to %d", w, maxWeight)
			}
		}
		var missing []string
		for _, z := range zones {
			if _, ok := svc.ZoneWeights[z]; !ok && z != "" {
				missing = append(missing, z)
			}
		}
		if len(missing) > 0 {
			v.errorf(path+".zoneWeights", "no weight for zone %s of service %s: give every zone of the service a weight", strings.Join(missing, ", "), svc.Name)
		}
	}
	for i, x := range v.s.Variants {
		for _, name := range slices.Sorted(maps.Keys(x.Weights)) {
			path := fmt.Sprintf("variants[%d].weights.%s", i, name)
			svc, ok := v.s.Service(name)
			if !ok {
				v.errorf(path, "unknown service %q%s", name, hintOrList(name, v.serviceNames()))
				continue
			}
			if len(x.Weights[name]) == 0 && !v.failed(path) {
				v.errorf(path, "give one weight per replica (%d)", svc.Replicas)
				continue
			}
			v.replicaWeights(path, svc, x.Weights[name])
		}
	}
	v.weightsBalancer()
}

// replicaWeights checks a list of per-replica weights of svc, written at
// path.
func (v *validator) replicaWeights(path string, svc *Service, ws []int) {
	if len(ws) == 0 || v.failed(path) {
		return
	}
	if len(ws) != svc.Replicas && svc.Replicas > 0 {
		v.errorf(path, "%d weight(s) for %d replicas: give one weight per replica of %s", len(ws), svc.Replicas, svc.Name)
	}
	for j, w := range ws {
		if w < 1 || w > maxWeight {
			v.errorf(fmt.Sprintf("%s[%d]", path, j), "weight %d: must be from 1 to %d", w, maxWeight)
		}
	}
}

// weightsBalancer refuses weights in a variant whose balancer is
// round_robin, which ignores them: they would do nothing.
func (v *validator) weightsBalancer() {
	declared := v.d.has("variants")
	for i, x := range v.s.Variants {
		if x.Policy.Balancer.Type != BalancerRoundRobin {
			continue
		}
		var weighted []string
		for j := range v.s.Services {
			svc := v.s.Services[j]
			if ws, ok := x.Weights[svc.Name]; ok {
				svc.Weights, svc.ZoneWeights = ws, nil
			}
			if !svc.equalWeights() {
				weighted = append(weighted, svc.Name)
			}
		}
		if len(weighted) == 0 {
			continue
		}
		path := "policy.balancer.type"
		switch {
		case declared && v.d.has(fmt.Sprintf("variants[%d].policy.balancer.type", i)):
			path = fmt.Sprintf("variants[%d].policy.balancer.type", i)
		case declared && !v.d.has(path):
			path = fmt.Sprintf("variants[%d]", i)
		case !v.d.has(path):
			path = "policy"
		}
		v.errorf(path, "balancer round_robin ignores replica weights, and %s: use weighted_round_robin (or another balancer), or give the variant equal weights",
			unequal(weighted))
	}
}

// unequal says which services have unequal weights.
func unequal(names []string) string {
	if len(names) == 1 {
		return names[0] + " has unequal ones"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " have unequal ones"
}
