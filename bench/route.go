package bench

import "github.com/meshbench/meshbench/scenarios"

// RouteOf names the gateway route that workload w's requests match: the
// first route of the plan whose match takes w's target, as the gateway
// picks one, or "" when none does. Every backend files a request's
// Result.Route with it, from the scenario alone, so the per-route
// statistics of one scenario mean the same on the simulator and on the
// real backends whatever their gateways do with the request.
func RouteOf(plan *scenarios.Plan, w scenarios.Workload) string {
	if r := plan.Topology.RouteFor(w.Target); r != nil {
		return r.Name
	}
	return ""
}
