package sim

import (
	"math/rand/v2"
	"time"

	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/scenarios"
)

// distribution is what the simulator needs of a latency or think-time model:
// a draw from a caller-supplied stream. scenarios.Distribution satisfies it.
type distribution interface {
	Sample(r *rand.Rand) time.Duration
}

// spec is one run, resolved: the fleet, the network, the load, the faults and
// one variant's merged policy, with every name turned into a value the model
// can use. It is built from a scenarios.Plan (plan.go) or, in tests and
// benchmarks, in code, so the model does not depend on the scenario format.
type spec struct {
	calib    *calib // a calibration profile's hop costs (calibration.go); nil: none
	seed     uint64
	duration time.Duration
	gateway  gatewaySpec
	services []serviceSpec
	network  networkSpec
	loads    []loadSpec
	policy   scenarios.Policy // the variant's merged policy; bench/dataplane says what it means
	faults   []faultSpec
	host     *scenarios.Host // nil: CPU work is free (host.go)
	// hostCurve is the profile's CPU scale by job rate (host.go); nil:
	// the host's figures at every rate.
	hostCurve []scalePoint
}

type gatewaySpec struct {
	zone   string
	routes []routeSpec
}

// routeSpec is one gateway route (Envoy route semantics: first match wins).
type routeSpec struct {
	name      string
	match     *scenarios.Matcher
	service   string
	timeout   time.Duration // 0: the policy's request timeout
	rateLimit *scenarios.RateLimit
	auth      *authSpec
	cache     *scenarios.RouteCache // nil: no cache
	guards    *guardSpec            // nil: no ipRestriction, acl, quota or introspection (guards.go)
}

// authSpec is a route's authentication: apiKey (header, accepted keys) or
// jwt.
type authSpec struct {
	typ    string
	header string
	keys   []string
	// held says the gateway holds keys for the route (its own or its
	// consumers'), so only listed keys pass (apiKey).
	held bool
}

type serviceSpec struct {
	name        string
	replicas    int
	concurrency int // workers per replica, >= 1
	queue       int // bounded FIFO per replica
	serviceTime distribution
	errorRate   float64
	zones       []string   // replicas spread round-robin; empty means zone ""
	weights     []int      // load-balancing weight by replica; nil: all 1
	calls       [][]string // sequential groups of parallel calls, by callee name
	// operations give the gateway's requests they match work of their own;
	// the first match applies. Calls from other services use the default.
	operations []operationSpec
	// grpc: the service speaks gRPC, which its callers' clusters reach over
	// HTTP/2 (see pool).
	grpc bool
}

// weight is replica i's load-balancing weight, as every proxy's cluster
// of s gives its endpoint (scenarios.Service.ReplicaWeight).
func (s *serviceSpec) weight(i int) int {
	if i < len(s.weights) {
		return s.weights[i]
	}
	return 1
}

// clusterProtocol is the protocol of the clusters that reach s.
func (s *serviceSpec) clusterProtocol() string {
	if s.grpc {
		return config.ProtocolH2C
	}
	return config.ProtocolHTTP1
}

// operationSpec is one operation of a service: the work of the requests
// from the gateway that match it, in place of the service's own.
type operationSpec struct {
	name        string
	match       *scenarios.Matcher
	serviceTime distribution
	calls       [][]string
}

type networkSpec struct {
	latency   distribution // nil: zero
	loss      float64
	zones     map[string]linkSpec // intra-zone overrides
	crossZone *linkSpec
}

type linkSpec struct {
	latency distribution
	loss    float64
}

// loadSpec is one workload: an open-loop arrival process (users == 0) or a
// closed loop of users that think between requests.
type loadSpec struct {
	grpc     bool // the workload speaks gRPC (its client's calibrated cost)
	name     string
	method   string
	path     string
	host     string
	headers  map[string]string
	keySpace int // distinct hash keys; 0: every request a random key
	poisson  bool
	shape    rateShape
	users    int
	think    distribution
	start    time.Duration
	end      time.Duration // exclusive; 0 means the run's duration

	// consumers say who sends each request; nil: one anonymous client.
	consumers *consumer.Set
}

// Fault actions.
const (
	faultKill      = "kill"
	faultRestart   = "restart"
	faultPause     = "pause"
	faultSlow      = "slow"
	faultErrors    = "errors"
	faultLatency   = "latency"
	faultPartition = "partition"
	faultAbort     = "abort"
	faultDelay     = "delay"
)

type faultSpec struct {
	at       time.Duration
	dur      time.Duration // 0: until the end of the run (restart: see downtime)
	action   string
	target   targetSpec
	peer     *targetSpec // partition; nil: everything else
	factor   float64     // slow
	rate     float64     // errors
	status   int         // errors
	add      distribution
	downtime time.Duration    // restart
	http     *scenarios.Fault // abort, delay: the gateway's fault filter on a route (edge.go)
}

// targetSpec selects replicas: a service (index -1 for all of it) or a
// zone; gateway selects the gateway (partitions only).
type targetSpec struct {
	service string
	index   int
	zone    string
	gateway bool
}
