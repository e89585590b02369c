package consumer

import (
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/scenarios"
)

// GatewayKeys are the API keys each apiKey route of t holds, by route
// name, stored hashed: the keys its auth lists (named KeyName) and the keys
// of the consumers with identity apiKey of the workloads in load that reach
// it (named Name), sets being ForPlan(load, seed). A route absent from the
// map holds no keys and accepts any non-empty key (the format's
// "keys: []").
func GatewayKeys(t *scenarios.Topology, load []scenarios.Workload, sets []*Set) map[string][]auth.APIKey {
	keys := map[string][]auth.APIKey{}
	for _, r := range t.Gateway.Routes {
		if r.Auth == nil || r.Auth.Type != scenarios.AuthAPIKey {
			continue
		}
		seen := map[string]bool{}
		for _, k := range r.Auth.Keys {
			if seen[k] {
				continue
			}
			seen[k] = true
			keys[r.Name] = append(keys[r.Name], auth.APIKey{Name: KeyName(k), Hash: auth.HashAPIKey(k)})
		}
	}
	for i := range load {
		s := sets[i]
		if s == nil || s.identity != scenarios.IdentityAPIKey {
			continue
		}
		r := t.RouteFor(load[i].Target)
		if r == nil || r.Auth == nil || r.Auth.Type != scenarios.AuthAPIKey {
			continue
		}
		keys[r.Name] = append(keys[r.Name], s.Keys()...)
	}
	return keys
}
