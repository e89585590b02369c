package kubernetes

import (
	"fmt"
	"strings"

	"github.com/meshbench/meshbench/scenarios"
)

// BackendName is the backend's name, as --backend spells it. The scenario
// format's backends list does not name it: a scenario runs on kubernetes
// when asked on the command line.
const BackendName = "kubernetes"

func init() {
	scenarios.RegisterBackendCheck(BackendName, func(plan *scenarios.Plan, variant int) []scenarios.BackendIssue {
		return issues(plan, variant)
	})
}

// checkPlan refuses what the kubernetes backend cannot run as the
// scenario says, in one error.
func checkPlan(plan *scenarios.Plan, variant int) error {
	is := issues(plan, variant)
	if len(is) == 0 {
		return nil
	}
	msgs := make([]string, len(is))
	for i, x := range is {
		msgs[i] = x.Msg
		if x.Path != "" {
			msgs[i] = x.Path + ": " + x.Msg
		}
	}
	return fmt.Errorf("scenario %q on kubernetes: %s", plan.Name, strings.Join(msgs, "; "))
}

// issues lists what the backend cannot reproduce in a cluster. The
// gateway and the sidecars are `meshbench proxy` processes configured
// from a file, so what the local backend adds to its in-process proxies
// that `meshbench proxy` cannot take from its file (edgeIssues: the
// gateway's edge features) and what it does to the network
// between them (toxiproxy's partitions) is refused rather than silently
// left out; replicas are found through DNS, which carries neither zones
// nor weights. Mutual TLS is the proxies' own security section
// (security.go).
func issues(plan *scenarios.Plan, variant int) []scenarios.BackendIssue {
	var out []scenarios.BackendIssue
	add := func(path, format string, args ...any) {
		out = append(out, scenarios.BackendIssue{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if variant < 0 || variant >= len(plan.Variants) {
		add("", "variant %d out of range", variant)
		return out
	}
	if plan.Mesh == scenarios.MeshProxyless {
		add("topology.mesh", "proxyless needs the proxy linked into paymentsvc; here every pod has a sidecar (mesh: sidecar)")
	}
	for i, s := range plan.Services {
		if s.Weighted() {
			add(fmt.Sprintf("topology.services[%d]", i), "replica weights are not available: the proxies find replicas through DNS, which carries no weight")
		}
	}
	pol := &plan.Variants[variant].Policy
	if pol.Balancer.Locality.Enabled {
		add("policy.balancer.locality", "locality-aware balancing is not available: the proxies find replicas through DNS, which carries no zone")
	}
	edgeIssues(plan, pol, add)
	if pol.Discovery != nil {
		add("policy.discovery", "the proxies find replicas through their headless Services' DNS, not a discovery of the scenario's")
	}
	for i, f := range plan.Faults {
		p := fmt.Sprintf("faults[%d]", i)
		switch f.Action {
		case scenarios.ActionPartition:
			add(p, "partition is not available: it would need a NetworkPolicy enforced by the cluster's network plugin")
		}
	}
	return out
}
