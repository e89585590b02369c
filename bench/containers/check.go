package containers

import (
	"fmt"
	"strings"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/bench/local"
	"github.com/meshbench/meshbench/scenarios"
)

// The containers backend registers its start-up checks with the scenario
// loader (see scenarios.RegisterBackendCheck), so that what a run would
// refuse is refused by validation, at the key at fault.
func init() { scenarios.RegisterBackendCheck(scenarios.BackendContainers, Check) }

// Check reports what a run of variant of plan on containers would refuse,
// without Docker: services that are not one of the fleet's four roles,
// payments without the services it calls, service times paymentsvc cannot
// read back from its flags, the data plane in front of the fleet
// (local.CheckMesh, with the replicas elsewhere) and the fault timeline.
func Check(plan *scenarios.Plan, variant int) []scenarios.BackendIssue {
	var out []scenarios.BackendIssue
	if plan.Mesh == scenarios.MeshProxyless {
		out = append(out, scenarios.BackendIssue{Path: "topology.mesh", Msg: local.ErrProxylessElsewhere.Error()})
	}
	have := map[string]bool{}
	for _, s := range plan.Services {
		have[s.Name] = true
	}
	for i := range plan.Services {
		s := &plan.Services[i]
		path := fmt.Sprintf("topology.services[%d]", i)
		role, err := fleet.ParseRole(s.Name)
		if err != nil {
			out = append(out, scenarios.BackendIssue{Path: path + ".name", Msg: fmt.Sprintf(
				"service %q: the containerised fleet runs only the roles payments, risk, fraud and ledger (list only sim and local in backends to model other services)", s.Name)})
			continue
		}
		if role == fleet.RolePayments {
			for _, dep := range []fleet.Role{fleet.RoleRisk, fleet.RoleFraud, fleet.RoleLedger} {
				if !have[string(dep)] {
					out = append(out, scenarios.BackendIssue{Path: path, Msg: fmt.Sprintf("payments calls %s, which the topology does not have", dep)})
				}
			}
		}
		if msg := flagDistribution(s.ServiceTime); msg != "" {
			out = append(out, scenarios.BackendIssue{Path: path + ".serviceTime", Msg: msg})
		}
	}
	if len(out) > 0 {
		return out
	}
	spec, err := SpecFromPlan(plan, plan.Seed)
	if err != nil {
		return []scenarios.BackendIssue{{Msg: err.Error()}}
	}
	out = append(out, local.CheckMesh(plan, variant, true)...)
	f := &Fleet{Partitions: paperPartitions{}}
	for _, rs := range spec.Replicas {
		f.Replicas = append(f.Replicas, &Replica{ReplicaSpec: rs})
	}
	if _, err := Timeline(plan, f); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			path := ""
			var i int
			if _, serr := fmt.Sscanf(line, "fault %d", &i); serr == nil {
				path = fmt.Sprintf("faults[%d]", i)
			}
			out = append(out, scenarios.BackendIssue{Path: path, Msg: line})
		}
	}
	return out
}

// flagDistribution says why paymentsvc could not read d back from the
// flag the backend passes it, or "".
func flagDistribution(d scenarios.DistributionSpec) string {
	if d.Type == "" {
		return ""
	}
	parsed, err := fleet.ParseDistribution(fleet.FormatDistribution(d))
	if err == nil {
		_, err = parsed.Build()
	}
	if err != nil {
		return fmt.Sprintf("paymentsvc cannot take this distribution as a flag: %v", err)
	}
	return ""
}

// paperPartitions stands for the data plane's network in Check: a
// partition needs nothing of the fleet itself.
type paperPartitions struct{}

func (paperPartitions) Partition(int) (cut, restore func() error, err error) {
	nop := func() error { return nil }
	return nop, nop, nil
}
