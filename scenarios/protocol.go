package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Protocols of services and workloads.
const (
	ProtocolHTTP = "http" // HTTP/1.1, one request at a time per connection
	ProtocolGRPC = "grpc" // gRPC over cleartext HTTP/2: calls are streams on shared connections
)

// GRPC reports whether the service's API is gRPC.
func (s *Service) GRPC() bool { return s.Protocol == ProtocolGRPC }

// GRPC reports whether the workload sends gRPC calls.
func (w *Workload) GRPC() bool { return w.Protocol == ProtocolGRPC }

// RouteFor is the first gateway route that matches r, or nil.
func (t *Topology) RouteFor(r Request) *Route {
	for i := range t.Gateway.Routes {
		route := &t.Gateway.Routes[i]
		if mt, err := route.Match.Compile(); err == nil && mt.Matches(r) {
			return route
		}
	}
	return nil
}

// protocolOf is the protocol a value was given, http when none.
func protocolOf(p string) string {
	if p == "" {
		return ProtocolHTTP
	}
	return p
}

// workloadProtocolIssue reports a workload whose protocol is not that of
// the service its requests are routed to: the gateway forwards a request
// in the protocol it came in, and the fleet's replicas answer gRPC calls
// only on a gRPC service's API. serviceProtocol returns "" for a service
// not to check.
func workloadProtocolIssue(t *Topology, w *Workload, serviceProtocol func(*Service) string) string {
	route := t.RouteFor(w.Target)
	if route == nil {
		return ""
	}
	svc, ok := t.Service(route.Service)
	if !ok {
		return ""
	}
	want, got := serviceProtocol(svc), protocolOf(w.Protocol)
	if want == "" || want == got {
		return ""
	}
	return fmt.Sprintf("workload %s sends %s requests, which route %s sends to service %s, whose protocol is %s: give the workload protocol: %s (or the service protocol: %s)",
		w.Name, got, route.Name, svc.Name, want, want, got)
}

// fleetGRPCServices are the services the real fleet serves a gRPC API for.
var fleetGRPCServices = []string{"payments", "risk", "fraud", "ledger"}

// FleetGRPCCall is one call of the real fleet's gRPC API
// (bench/fleet/paymentspb): the request of its HTTP API that it carries
// (Method, and Path, where a trailing '/' takes a payment id after it),
// the service that serves it and its gRPC full method name. The data
// plane matches a route to a gRPC service against them.
type FleetGRPCCall struct {
	Service    string // payments, risk, fraud or ledger
	Method     string
	Path       string
	FullMethod string // "/meshbench.payments.v1.Payments/CreatePayment"
}

// ExamplePath is the call's path with a payment id in place when it takes
// one.
func (c FleetGRPCCall) ExamplePath() string {
	if strings.HasSuffix(c.Path, "/") {
		return c.Path + examplePaymentID
	}
	return c.Path
}

const fleetGRPCPackage = "/meshbench.payments.v1."

var fleetGRPCCalls = []FleetGRPCCall{
	{"payments", "POST", "/v1/payments", fleetGRPCPackage + "Payments/CreatePayment"},
	{"payments", "GET", "/v1/payments/", fleetGRPCPackage + "Payments/GetPayment"},
	{"risk", "POST", "/v1/risk", fleetGRPCPackage + "Risk/Score"},
	{"fraud", "POST", "/v1/fraud", fleetGRPCPackage + "Fraud/Check"},
	{"ledger", "POST", "/v1/ledger/entries", fleetGRPCPackage + "Ledger/Record"},
	{"ledger", "GET", "/v1/ledger/payments/", fleetGRPCPackage + "Ledger/GetPayment"},
}

// FleetGRPCCalls lists the calls of the real fleet's gRPC API.
func FleetGRPCCalls() []FleetGRPCCall { return slices.Clone(fleetGRPCCalls) }

// isFleetGRPCCall reports whether the fleet's gRPC API carries r.
func isFleetGRPCCall(r Request) bool {
	for _, c := range fleetGRPCCalls {
		if !strings.EqualFold(r.Method, c.Method) {
			continue
		}
		if id, ok := strings.CutPrefix(r.Path, c.Path); ok && strings.HasSuffix(c.Path, "/") && id != "" && !strings.Contains(id, "/") {
			return true
		}
		if strings.TrimSuffix(r.Path, "/") == c.Path {
			return true
		}
	}
	return false
}

// fleetProtocolIssues lists what the real fleet cannot run of t's and
// load's gRPC, on backend (local, containers).
func fleetProtocolIssues(t *Topology, load []Workload, backend string) []string {
	var out []string
	grpcServices := 0
	for i := range t.Services {
		svc := &t.Services[i]
		if !svc.GRPC() {
			continue
		}
		grpcServices++
		if !slices.Contains(fleetGRPCServices, svc.Name) {
			out = append(out, fmt.Sprintf("service %s: on %s, protocol grpc needs one of the fleet's services with a gRPC API (%s); list only sim in backends to model any service over gRPC",
				svc.Name, backend, strings.Join(fleetGRPCServices, ", ")))
		}
	}
	if grpcServices > 0 && t.Mesh == MeshProxyless {
		out = append(out, fmt.Sprintf("on %s, gRPC services run with mesh: sidecar only (the proxyless mesh carries HTTP/1.1)", backend))
	}
	for i := range load {
		w := &load[i]
		if w.GRPC() && !isFleetGRPCCall(w.Target) {
			out = append(out, fmt.Sprintf("workload %s: on %s, a gRPC workload sends a call of the fleet's gRPC API: its target must be POST /v1/payments or GET /v1/payments/{payment} (or a POST to /v1/risk, /v1/fraud or /v1/ledger/entries), not %s %s",
				w.Name, backend, w.Target.Method, w.Target.Path))
		}
	}
	return out
}

// CheckProtocols reports what backend (local or containers) cannot run of
// the plan's protocols, as validation does for a scenario that lists a
// real backend; give it the variant's plan (Plan.ForVariant), whose
// services and workloads carry the variant's protocol.
func (p *Plan) CheckProtocols(backend string) error {
	var problems []string
	for i := range p.Load {
		if msg := workloadProtocolIssue(&p.Topology, &p.Load[i], func(s *Service) string { return protocolOf(s.Protocol) }); msg != "" {
			problems = append(problems, msg)
		}
	}
	problems = append(problems, fleetProtocolIssues(&p.Topology, p.Load, backend)...)
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// protocols checks that every workload speaks its service's protocol, in
// the scenario and in each variant, and that the real backends listed can
// run the gRPC asked for.
func (v *validator) protocols() {
	s := v.s
	declared := v.d.has("variants")
	scenarioProtocol := func(svc *Service) string {
		for i := range s.Services {
			if &s.Services[i] == svc && v.failed(fmt.Sprintf("topology.services[%d].protocol", i)) {
				return ""
			}
		}
		return protocolOf(svc.Protocol)
	}
	for i := range s.Load {
		path := fmt.Sprintf("load[%d]", i)
		if v.failed(path+".protocol") || v.failed(path+".target") {
			continue
		}
		if msg := workloadProtocolIssue(&s.Topology, &s.Load[i], scenarioProtocol); msg != "" {
			if v.d.has(path + ".protocol") {
				path += ".protocol"
			}
			v.errorf(path, "%s", msg)
		}
	}
	if declared {
		for i, x := range s.Variants {
			if x.Protocol != "" {
				continue // every service and workload then speaks it
			}
			for _, name := range slices.Sorted(maps.Keys(x.Load)) {
				w := x.Load[name]
				path := variantLoadPath(i, name) + ".protocol"
				if !v.d.has(path) {
					continue // as the scenario's workload, checked above
				}
				if msg := workloadProtocolIssue(&s.Topology, &w, scenarioProtocol); msg != "" {
					v.errorf(path, "%s", msg)
				}
			}
		}
	}
	for k, b := range s.Backends {
		if b != BackendLocal && b != BackendContainers {
			continue
		}
		seen := map[string]bool{}
		report := func(prefix string, msgs []string) {
			for _, msg := range msgs {
				if !seen[msg] {
					seen[msg] = true
					v.errorf(fmt.Sprintf("backends[%d]", k), "%s%s", prefix, msg)
				}
			}
		}
		report("", fleetProtocolIssues(&s.Topology, s.Load, b))
		for i, x := range s.Variants {
			if declared && (x.Protocol != "" || len(x.Load) > 0) {
				p := (&Plan{Scenario: *s}).ForVariant(i)
				report("variant "+x.Name+": ", fleetProtocolIssues(&p.Topology, p.Load, b))
			}
		}
	}
}
