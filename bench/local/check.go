package local

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/scenarios"
)

// The local backend registers its start-up checks with the scenario
// loader, so that `meshbench validate` (and Load before every run) refuses
// what a run would refuse, at the key at fault.
func init() {
	scenarios.RegisterBackendCheck(scenarios.BackendLocal, func(plan *scenarios.Plan, variant int) []scenarios.BackendIssue {
		return CheckMesh(plan, variant, false)
	})
}

// ErrProxylessElsewhere refuses mesh proxyless for replicas that run
// elsewhere (StartMesh).
var ErrProxylessElsewhere = errors.New("mesh proxyless embeds the proxy in the replica, which runs elsewhere (in a container): use mesh sidecar")

// CheckMesh reports what starting the data plane of variant of plan would
// refuse, without starting anything: the services the fleet cannot run
// (a generic service writing to the ledger), the gateway's and every
// sidecar's proxy configuration (bench/dataplane's translation, then the
// proxy's own validation, as proxy.New does), the network's hops, and the
// fault timeline. external says the replicas run elsewhere (StartMesh, the
// containers backend), where mesh proxyless cannot embed the proxy. Each
// issue names the scenario key at fault.
func CheckMesh(plan *scenarios.Plan, variant int, external bool) []scenarios.BackendIssue {
	var out []scenarios.BackendIssue
	report := func(path string, err error) {
		if err != nil {
			for _, e := range splitJoined(err) {
				out = append(out, scenarios.BackendIssue{Path: path, Msg: e.Error()})
			}
		}
	}
	e, err := newEnv(plan, variant, plan.Seed, false)
	if err != nil {
		report("", err)
		return out
	}
	topo := &plan.Topology
	if external && topo.Mesh == scenarios.MeshProxyless {
		report("topology.mesh", ErrProxylessElsewhere)
	}
	for i := range topo.Services {
		sp := &topo.Services[i]
		if _, generic := roleOf(sp, topo); generic {
			report(fmt.Sprintf("topology.services[%d].calls", i), checkGenericCalls(sp, roleMap(topo)))
		}
	}
	out = append(out, e.checkRoutes()...)
	if len(out) > 0 {
		return out
	}
	// The replicas as the data plane sees them: addresses nothing listens
	// on, which nothing dials.
	eps := map[string][]discovery.Endpoint{}
	for _, r := range topo.Replicas(scenarios.Target{Replica: scenarios.AllReplicas}) {
		eps[r.Service] = append(eps[r.Service], discovery.Endpoint{ID: fmt.Sprintf("%s[%d]", r.Service, r.Index), Address: "127.0.0.1:9", Zone: r.Zone})
	}
	if err := e.buildServices(eps); err != nil {
		report("topology.services", err)
		return out
	}
	out = append(out, e.checkGateway()...)
	out = append(out, e.checkSidecars()...)
	report("network", checkHops(plan))
	if path, err := checkGRPCLoss(plan); err != nil {
		report(path, err)
	}
	if needsNetwork(plan) {
		e.net = &network{} // the faults need one; it has no hops to change
	}
	for i, f := range plan.Faults {
		if f.HTTPFault() {
			continue // the gateway's fault filter on a route: Load checked its route and parameters
		}
		err := e.faultSteps(i, f, func(time.Duration, int, string, func() error) {})
		if err != nil {
			err = errors.New(strings.TrimPrefix(err.Error(), fmt.Sprintf("fault %d: ", i)))
		}
		report(fmt.Sprintf("faults[%d]", i), err)
	}
	return out
}

// roleMap is the fleet role of every service that has one.
func roleMap(topo *scenarios.Topology) map[string]fleet.Role {
	m := map[string]fleet.Role{}
	for i := range topo.Services {
		role, generic := roleOf(&topo.Services[i], topo)
		if !generic {
			m[topo.Services[i].Name] = role
		} else {
			m[topo.Services[i].Name] = ""
		}
	}
	return m
}

// checkRoutes checks each gateway route's policy as bench/dataplane
// translates it.
func (e *env) checkRoutes() []scenarios.BackendIssue {
	var out []scenarios.BackendIssue
	for i := range e.plan.Gateway.Routes {
		r := &e.plan.Gateway.Routes[i]
		if _, err := dataplane.Route(e.pol, r); err != nil {
			path := fmt.Sprintf("topology.gateway.routes[%d]", i)
			if r.RateLimit != nil {
				path += ".rateLimit"
			}
			out = append(out, scenarios.BackendIssue{Path: path, Msg: err.Error()})
		}
	}
	return out
}

// checkGateway checks the gateway's configuration as the proxy validates
// it.
func (e *env) checkGateway() []scenarios.BackendIssue {
	cfg, err := dataplane.Gateway(e.pol, &e.plan.Topology)
	if err != nil {
		return []scenarios.BackendIssue{{Path: "topology.gateway.routes", Msg: err.Error()}}
	}
	for i := range cfg.Clusters {
		cc := &cfg.Clusters[i]
		if svc := e.byName[cc.Name]; svc != nil {
			if cc.Endpoints, err = e.endpoints(gatewayNode, e.plan.Gateway.Zone, svc); err != nil {
				return []scenarios.BackendIssue{{Path: "topology.gateway", Msg: err.Error()}}
			}
		}
	}
	return proxyIssues("the gateway", config.Validate(cfg))
}

// checkSidecars checks the outbound proxy of every replica that calls
// others.
func (e *env) checkSidecars() []scenarios.BackendIssue {
	var out []scenarios.BackendIssue
	for _, s := range e.services {
		if len(s.calls) == 0 {
			continue
		}
		names := s.callees()
		for _, r := range s.reps {
			cfg, err := e.sidecarConfig(r, names)
			if err != nil {
				out = append(out, scenarios.BackendIssue{Path: "topology.services", Msg: err.Error()})
				continue
			}
			out = append(out, proxyIssues("the sidecar of "+r.name, config.Validate(cfg))...)
		}
	}
	return out
}

// proxyIssues reports the proxy's refusal of a configuration made from the
// variant's policy, at the policy.
func proxyIssues(who string, err error) []scenarios.BackendIssue {
	var out []scenarios.BackendIssue
	for _, e := range splitJoined(err) {
		out = append(out, scenarios.BackendIssue{Path: "policy", Msg: fmt.Sprintf("the proxy refuses the configuration of %s: %v", who, e)})
	}
	return out
}

// checkHops checks every hop's latency as the network's delay toxics read
// it (the fleet's distribution syntax).
func checkHops(plan *scenarios.Plan) error {
	zones := append([]string{""}, plan.Topology.Zones()...)
	var errs []error
	for _, a := range zones {
		for _, b := range zones {
			if _, err := hopLatency(plan.Network.Between(a, b).Latency); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// checkGRPCLoss refuses loss on the hops into a gRPC service: its callers
// share one HTTP/2 connection per replica, so a message lost on it would
// stall every stream the connection carries, where the simulator loses
// one request. It returns the key to report at.
func checkGRPCLoss(plan *scenarios.Plan) (string, error) {
	zones := append([]string{"", plan.Gateway.Zone}, plan.Topology.Zones()...)
	for i := range plan.Services {
		svc := &plan.Services[i]
		if !svc.GRPC() {
			continue
		}
		for r := range svc.Replicas {
			for _, from := range zones {
				if plan.Network.Between(from, svc.ReplicaZone(r)).Loss > 0 {
					path := "network"
					if plan.Network.Loss > 0 {
						path = "network.loss"
					}
					return path, fmt.Errorf("loss on the hops into gRPC service %s: its callers multiplex every call on one HTTP/2 connection per replica, so a lost message would stall them all, where the simulator loses one request; use protocol http, or list only sim in backends", svc.Name)
				}
			}
		}
	}
	return "", nil
}

// splitJoined lists the errors of an errors.Join, or err alone.
func splitJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []error{err}
}
