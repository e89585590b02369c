package scenarios

import "time"

// APIVersion and Kind are the values every scenario file must declare.
const (
	APIVersion = "meshbench/v1"
	Kind       = "Scenario"
)

// Backend names.
const (
	BackendSim        = "sim"
	BackendLocal      = "local"
	BackendContainers = "containers"
)

// Scenario is one scenario file, format v1: the fleet, the load offered to
// it, the faults injected, the SLOs, and the policies compared as variants.
// After Load it also carries every default (see defaults.go); Plan embeds it.
type Scenario struct {
	// APIVersion must be "meshbench/v1".
	APIVersion string `json:"apiVersion" noun:"apiVersion" jsonschema:"required,enum=meshbench/v1"`
	// Kind must be "Scenario".
	Kind string `json:"kind" noun:"kind" jsonschema:"required,enum=Scenario"`
	// Name identifies the scenario in run folders and reports: lower-case letters, digits and '-'.
	Name string `json:"name" jsonschema:"required,pattern=^[a-z0-9-]+$"`
	// Description starts with the question the scenario answers, as its first sentence.
	Description string `json:"description,omitempty"`
	// Seed seeds every random stream of a run (default 1).
	Seed uint64 `json:"seed"`
	// Duration is the length of the timeline, e.g. "120s".
	Duration time.Duration `json:"duration" jsonschema:"required"`
	// Warmup is the start of the timeline whose results are not counted (default 0; less than duration).
	Warmup time.Duration `json:"warmup"`
	// Backends lists where the scenario runs: sim, local, containers (default [sim]).
	Backends []string `json:"backends" noun:"backend" jsonschema:"enum=sim,enum=local,enum=containers"`
	// Calibration is a calibration profile written by `meshbench calibrate`,
	// as a path relative to the scenario file: the simulator then charges
	// the hop costs measured on this machine (docs/calibration.md). A run's
	// --calibration flag takes its place.
	Calibration string `json:"calibration,omitempty"`
	// Topology is the fleet: gateway, services and the calls between them.
	Topology `json:"topology" jsonschema:"required" jsonschema_description:"Topology is the fleet: gateway, services and the calls between them."`
	// Network is the latency and loss of every hop.
	Network Network `json:"network"`
	// Load lists the workloads offered at the gateway; at least one.
	Load []Workload `json:"load" jsonschema:"required,minItems=1"`
	// Policy is the gateway/mesh policy shared by every variant.
	Policy Policy `json:"policy"`
	// Variants are the policies compared; each is deep-merged over policy (default: one variant named "default").
	Variants []Variant `json:"variants"`
	// Faults are injected on the timeline.
	Faults []Fault `json:"faults"`
	// SLO lists the service-level objectives judged for every run.
	SLO []SLO `json:"slo"`
	// Prediction is how close the simulator must come to a real backend in a run of both (see PredictionTolerance).
	Prediction PredictionTolerance `json:"prediction"`
	// Host, when present, has the simulator model the machine's cores shared by the load generator, proxies and fleet (see Host).
	Host *Host `json:"host" jsonschema:"nullable"`
	// Sweep, when present, is the grid of settings `meshbench sweep` runs and `meshbench tune` searches (see Sweep and docs/sweep.md).
	Sweep *Sweep `json:"sweep,omitempty" jsonschema:"nullable"`
}

// Mesh modes: where the data-plane policies run for service-to-service calls.
const (
	MeshSidecar   = "sidecar"   // a proxy beside every replica (Envoy/Linkerd sidecar model)
	MeshProxyless = "proxyless" // policies linked into the caller (gRPC xDS proxyless model)
)

// Topology is the fleet: one gateway in front of a set of services.
type Topology struct {
	// Mesh is sidecar (a proxy beside each replica) or proxyless (default sidecar).
	Mesh string `json:"mesh" noun:"mesh mode" jsonschema:"enum=sidecar,enum=proxyless"`
	// Gateway is the edge proxy that the load hits.
	Gateway Gateway `json:"gateway" jsonschema:"required"`
	// Services are the services of the fleet.
	Services []Service `json:"services" jsonschema:"required,minItems=1"`
}

// Gateway is the edge proxy: it matches requests to routes and forwards them
// to a service through the variant's policy.
type Gateway struct {
	// Zone is where the gateway runs; it is the local zone for locality-aware balancing.
	Zone string `json:"zone,omitempty"`
	// Routes are matched in order; the first match wins.
	Routes []Route `json:"routes" jsonschema:"required,minItems=1"`
	// ConsumerGroups put workloads' consumers in named groups, which routes' acl blocks admit or refuse (see ConsumerGroup).
	ConsumerGroups []ConsumerGroup `json:"consumerGroups,omitempty"`
}

// Route sends the requests it matches to one service.
type Route struct {
	// Name identifies the route in reports.
	Name string `json:"name" jsonschema:"required,pattern=^[a-zA-Z0-9_.-]+$"`
	// Match selects requests; an empty match takes every request (pathPrefix "/").
	Match Match `json:"match"`
	// Service receives the matched requests.
	Service string `json:"service" jsonschema:"required"`
	// Auth is checked before the request is forwarded (default none).
	Auth *Auth `json:"auth,omitempty"`
	// RateLimit applies to this route only, after the policy's own rate limit.
	RateLimit *RateLimit `json:"rateLimit,omitempty"`
	// Timeout overrides the policy's request timeout for this route (0: use the policy's).
	Timeout time.Duration `json:"timeout,omitempty"`
	// ACL admits or refuses the route's verified consumers by their consumer groups, 403 when refused (Kong's acl; see ACL).
	ACL *ACL `json:"acl,omitempty"`
	// IPRestriction admits or refuses requests by client address, 403 when refused (Kong's ip-restriction; see IPRestriction).
	IPRestriction *IPRestriction `json:"ipRestriction,omitempty"`
}

// Match selects requests as Envoy's route match does: at most one of path
// (exact), pathPrefix and pathRegex (RE2, whole path), plus optional method,
// host and exact header values, all of which must hold.
type Match struct {
	// Path matches the request path exactly.
	Path string `json:"path,omitempty"`
	// PathPrefix matches paths that start with it.
	PathPrefix string `json:"pathPrefix,omitempty"`
	// PathRegex matches paths that it matches entirely (RE2 syntax).
	PathRegex string `json:"pathRegex,omitempty"`
	// Method matches the HTTP method (any when empty).
	Method string `json:"method,omitempty" noun:"HTTP method" jsonschema:"enum=GET,enum=HEAD,enum=POST,enum=PUT,enum=PATCH,enum=DELETE,enum=OPTIONS"`
	// Host matches the Host header (any when empty).
	Host string `json:"host,omitempty"`
	// Headers must all be present with exactly these values.
	Headers map[string]string `json:"headers,omitempty"`
}

// Auth types.
const (
	AuthNone   = "none"
	AuthJWT    = "jwt"
	AuthAPIKey = "apiKey"
	// AuthIntrospection checks a bearer token by OAuth 2.0 token
	// introspection (RFC 7662; see Introspection).
	AuthIntrospection = "introspection"
)

// Auth is the gateway's authentication of a route.
type Auth struct {
	// Type is none, jwt (a bearer token checked for issuer and audience), apiKey (a key in a header) or introspection (a bearer token the authorization server vouches for, RFC 7662).
	Type string `json:"type" noun:"auth type" jsonschema:"required,enum=none,enum=jwt,enum=apiKey,enum=introspection"`
	// Issuer is the required "iss" claim (jwt, introspection).
	Issuer string `json:"issuer,omitempty"`
	// Audience is the required "aud" claim (jwt, introspection).
	Audience string `json:"audience,omitempty"`
	// Header carries the key (apiKey; default "X-API-Key").
	Header string `json:"header,omitempty"`
	// Keys are the accepted keys (apiKey); empty means any non-empty key.
	Keys []string `json:"keys,omitempty"`
	// Introspection configures the introspection call and its cache (introspection; see Introspection).
	Introspection *Introspection `json:"introspection,omitempty"`
}

// Service is one service of the fleet: replicas that each serve up to
// concurrency requests at once, queue up to queue more (answering 503 when
// the queue is full), spend serviceTime on each, fail errorRate of them, and
// call other services.
type Service struct {
	// Name identifies the service: lower-case letters, digits and '-'.
	Name string `json:"name" jsonschema:"required,pattern=^[a-z0-9-]+$"`
	// Replicas is the number of instances (at least 1).
	Replicas int `json:"replicas" jsonschema:"required,minimum=1"`
	// Concurrency is how many requests one replica serves at once (default 1).
	Concurrency int `json:"concurrency" jsonschema:"minimum=1"`
	// Queue is how many more requests wait per replica; beyond it the replica answers 503 (default 100).
	Queue int `json:"queue" jsonschema:"minimum=0"`
	// ServiceTime is the time a replica works on one request, excluding calls it makes.
	ServiceTime DistributionSpec `json:"serviceTime" jsonschema:"required"`
	// ErrorRate is the fraction of requests answered 500 (0..1 or "0.5%"; default 0).
	ErrorRate Fraction `json:"errorRate"`
	// Zone places every replica in one zone. Exclusive with zones.
	Zone string `json:"zone,omitempty"`
	// Zones spreads the replicas round-robin over these zones. Exclusive with zone.
	Zones []string `json:"zones,omitempty"`
	// Weights are the replicas' load-balancing weights, one per replica in index order, each at least 1 (default: all 1); every balancer but round_robin honours them, at the gateway and at every sidecar. Exclusive with zoneWeights.
	Weights []int `json:"weights,omitempty" jsonschema:"minItems=1"`
	// ZoneWeights give every replica in a zone that zone's weight, one entry per zone of the service, each at least 1. Exclusive with weights.
	ZoneWeights map[string]int `json:"zoneWeights,omitempty"`
	// Calls are made to other services for each request (see Call).
	Calls []Call `json:"calls,omitempty"`
	// Operations give requests from the gateway that they match work of their own; the first that matches applies, and other requests (and every call from another service) get serviceTime and calls.
	Operations []Operation `json:"operations,omitempty"`
	// Labels are the replicas' labels, one mapping per replica in index order (default: none). Imported configuration selects replicas by them: an Istio DestinationRule's subsets, whose route weights become a variant's replica weights (docs/import.md).
	Labels []map[string]string `json:"labels,omitempty"`
	// Protocol is the service's API: http (HTTP/1.1) or grpc (gRPC over cleartext HTTP/2: its callers' proxies reach it over h2c, requests multiplexed as streams on shared connections); default http.
	Protocol string `json:"protocol" noun:"protocol" jsonschema:"enum=http,enum=grpc"`
}

// Operation is one kind of request a service serves (a read, a write) with
// work of its own: its service time and its calls replace the service's
// for the requests it matches. It applies to requests that reach the
// service from the gateway, whose method and path are the client's; calls
// from other services get the callee's own serviceTime and calls. In a
// Plan, serviceTime and calls are always filled in (from the service when
// the file leaves them out), so an empty calls list means no calls.
type Operation struct {
	// Name identifies the operation within its service: lower-case letters, digits, '-' and '_'.
	Name string `json:"name" jsonschema:"required,pattern=^[a-z0-9_-]+$"`
	// Match selects the requests the operation serves, by method and path.
	Match OperationMatch `json:"match" jsonschema:"required"`
	// ServiceTime is the time a replica works on one such request, excluding calls (default: the service's).
	ServiceTime DistributionSpec `json:"serviceTime"`
	// Calls are made for each such request, as the service's calls are (default: the service's calls; [] for none).
	Calls []Call `json:"calls"`
}

// OperationMatch selects a service's requests by method and path, with the
// semantics of a route's match: at most one of path (exact), pathPrefix and
// pathRegex (RE2, whole path), plus an optional method.
type OperationMatch struct {
	// Path matches the request path exactly.
	Path string `json:"path,omitempty"`
	// PathPrefix matches paths that start with it.
	PathPrefix string `json:"pathPrefix,omitempty"`
	// PathRegex matches paths that it matches entirely (RE2 syntax).
	PathRegex string `json:"pathRegex,omitempty"`
	// Method matches the HTTP method (any when empty).
	Method string `json:"method,omitempty" noun:"HTTP method" jsonschema:"enum=GET,enum=HEAD,enum=POST,enum=PUT,enum=PATCH,enum=DELETE,enum=OPTIONS"`
}

// Call is one call a service makes for each request it serves. Consecutive
// calls with parallel: true run concurrently as one group; a call without it
// starts after everything before it has finished.
type Call struct {
	// Service is the callee.
	Service string `json:"service" jsonschema:"required"`
	// Parallel groups this call with its parallel neighbours.
	Parallel bool `json:"parallel,omitempty"`
}

// Network models each hop (client→gateway, gateway→replica, replica→replica):
// a latency drawn from a distribution and a loss probability. Hops inside a
// zone may be overridden per zone, hops between zones by crossZone.
type Network struct {
	// Latency is the one-way latency of a hop (default constant 200µs).
	Latency DistributionSpec `json:"latency"`
	// Loss is the probability that a hop loses a request (default 0).
	Loss Fraction `json:"loss"`
	// Zones overrides latency and loss for hops inside a zone, by zone name.
	Zones map[string]Link `json:"zones,omitempty"`
	// CrossZone overrides latency and loss for hops between two zones.
	CrossZone *Link `json:"crossZone,omitempty"`
}

// Link overrides the network's latency and/or loss for some hops; what it
// leaves out is taken from the network (filled in by Load).
type Link struct {
	// Latency of the hop.
	Latency *DistributionSpec `json:"latency,omitempty"`
	// Loss probability of the hop.
	Loss *Fraction `json:"loss,omitempty"`
}

// Variant is one policy to compare, and optionally the load it is offered
// when that differs. In a file, its policy holds only the keys that differ
// from the scenario's policy, and its load only the keys that differ from
// the workloads it names; in a Plan both are full and merged.
type Variant struct {
	// Name identifies the variant in reports and on the command line.
	Name string `json:"name" jsonschema:"required,pattern=^[a-z0-9_-]+$"`
	// Description says what the variant changes.
	Description string `json:"description,omitempty"`
	// Policy is deep-merged over the scenario's policy: mappings merge key by key, a key set here wins, lists are replaced, null removes a block.
	Policy Policy `json:"policy"`
	// Load overrides workloads of the scenario's load by name, each deep-merged over the workload of that name as policy is; a rate, shape or users written here replaces the workload's rate, shape and users.
	Load LoadOverrides `json:"load,omitempty"`
	// Protocol, when set, runs every service and every workload of the variant with this protocol (http or grpc), whatever theirs: the way to compare the two on one fleet.
	Protocol string `json:"protocol,omitempty" noun:"protocol" jsonschema:"enum=http,enum=grpc"`
	// Weights replace, for this variant, the replica weights of the services it names: one weight per replica, each at least 1 (the way to compare a canary's share of the traffic on one fleet).
	Weights map[string][]int `json:"weights,omitempty"`
	// From takes the variant's policy and replica weights from imported Istio or Kong configuration (docs/import.md), resolved when the scenario loads; the variant's own policy and weights keys win over it. A loaded plan holds the result, without from.
	From *VariantSource `json:"from,omitempty"`
}

// VariantSource names the configuration a variant is imported from: Istio
// resources (a file or a directory of them) or a Kong decK file, as a path
// relative to the scenario file.
type VariantSource struct {
	// Istio is a file or directory of Istio resources (VirtualService, DestinationRule, ...).
	Istio string `json:"istio,omitempty"`
	// Kong is a Kong declarative configuration file (decK format 3.x).
	Kong string `json:"kong,omitempty"`
	// Strict makes every field the import approximates or leaves out an error (default false: they are reported as notes).
	Strict bool `json:"strict,omitempty"`
}

// LoadOverrides maps a workload's name to what a variant changes in it. In
// a file an entry holds only the keys that differ; in a Plan it is the
// whole workload as the variant runs it (see Plan.ForVariant). Workloads a
// variant does not name run as the scenario's load describes them.
type LoadOverrides map[string]Workload
