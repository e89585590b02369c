package containers

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// Spec describes a fleet to start: one container per replica.
type Spec struct {
	// RunID labels every container and the network (LabelRun). Empty: a
	// fresh NewRunID.
	RunID string
	// Image is the fleet image's tag. Empty: BuildImage(ImageOptions).
	Image string
	// ImageOptions say how to build the image when Image is empty.
	ImageOptions ImageOptions
	// Replicas lists the containers, in start order of no importance:
	// they start concurrently.
	Replicas []ReplicaSpec
	// Downstream gives a payments replica the base URLs of risk, fraud and
	// ledger, e.g. its sidecar on the host ("http://172.18.0.1:41000/risk"):
	// addresses that containers reach through Fleet.HostAddr. Nil: payments
	// calls the other containers directly by their network alias
	// ("http://risk:8080"), resolved by Docker's embedded DNS, which
	// spreads connections, not keys: with several ledger replicas a retried
	// payment may be recorded twice. Good enough for a fleet poked at by
	// hand; runs go through the mesh, which shards the ledger by key.
	Downstream func(r ReplicaSpec) DownstreamURLs
	// Parallel bounds how many containers start at once. 0: 8.
	Parallel int
}

// DownstreamURLs are the base URLs one payments replica calls.
type DownstreamURLs struct {
	Risk, Fraud, Ledger string
	// GRPC are the callees payments calls over gRPC (paymentsvc's
	// --grpc-callees), at their URL's host.
	GRPC []fleet.Role
}

// ReplicaSpec is one container of the fleet.
type ReplicaSpec struct {
	// Service is the scenario's service; it is also the fleet role.
	Service string
	// Index is the replica's index in its service.
	Index int
	// Zone is the replica's zone in the scenario, kept for fault targets.
	Zone string
	// Env sets paymentsvc's flags as PAYMENTSVC_* variables (see
	// cmd/paymentsvc); the role and name are set by SpecFromPlan.
	Env map[string]string
}

// Name is the replica's name as reports spell it: "payments[2]".
func (r ReplicaSpec) Name() string { return fmt.Sprintf("%s[%d]", r.Service, r.Index) }

// SpecFromPlan derives a fleet from a plan's topology: every replica of
// every service, with the service's concurrency, queue, service time and
// error rate (and, for payments' lookups, the service time of the
// operation of payments that matches them), a seed of its own drawn from
// seed (ReplicaSeed), and the ledger's file unsynced. The real fleet has
// four roles with a fixed call graph (payments calls risk and fraud in
// parallel, then ledger), so every service must be named after a role, and
// payments needs the other three; the topology's calls are the
// simulator's business.
func SpecFromPlan(plan *scenarios.Plan, seed uint64) (Spec, error) {
	var spec Spec
	var errs []string
	if err := plan.CheckFleetOperations(scenarios.BackendContainers); err != nil {
		errs = append(errs, err.Error())
	}
	if err := plan.CheckProtocols(scenarios.BackendContainers); err != nil {
		errs = append(errs, err.Error())
	}
	have := map[string]bool{}
	for _, s := range plan.Services {
		role, err := fleet.ParseRole(s.Name)
		if err != nil {
			errs = append(errs, fmt.Sprintf("service %q: the real fleet runs only the roles payments, risk, fraud and ledger", s.Name))
			continue
		}
		have[s.Name] = true
		for i := range s.Replicas {
			name := fmt.Sprintf("%s[%d]", s.Name, i)
			env := map[string]string{
				"PAYMENTSVC_ROLE":        string(role),
				"PAYMENTSVC_NAME":        name,
				"PAYMENTSVC_SEED":        strconv.FormatUint(ReplicaSeed(seed, name), 10),
				"PAYMENTSVC_CONCURRENCY": strconv.Itoa(s.Concurrency),
				"PAYMENTSVC_QUEUE":       strconv.Itoa(s.Queue),
				"PAYMENTSVC_ERROR_RATE":  strconv.FormatFloat(float64(s.ErrorRate), 'g', -1, 64),
				"GOMAXPROCS":             ReplicaGOMAXPROCS,
			}
			if s.ServiceTime.Type != "" {
				env["PAYMENTSVC_SERVICE_TIME"] = fleet.FormatDistribution(s.ServiceTime)
			}
			if op := s.OperationFor(scenarios.PaymentLookup()); role == fleet.RolePayments && op != nil && op.ServiceTime.Type != "" {
				// Payments' lookups get the service time of the scenario's
				// operation that matches them (validation has checked that
				// it calls the ledger only, as the fleet's lookup does).
				env["PAYMENTSVC_LOOKUP_SERVICE_TIME"] = fleet.FormatDistribution(op.ServiceTime)
			}
			if role == fleet.RoleLedger {
				// As on the local backend: the disk is not what the bench
				// measures, and a killed process loses nothing the kernel
				// holds (only a crash of the machine would).
				env["PAYMENTSVC_LEDGER_NOSYNC"] = "true"
			}
			spec.Replicas = append(spec.Replicas, ReplicaSpec{Service: s.Name, Index: i, Zone: s.ReplicaZone(i), Env: env})
		}
	}
	if have[string(fleet.RolePayments)] {
		for _, dep := range []fleet.Role{fleet.RoleRisk, fleet.RoleFraud, fleet.RoleLedger} {
			if !have[string(dep)] {
				errs = append(errs, fmt.Sprintf("payments calls %s, which the topology does not have", dep))
			}
		}
	}
	if len(errs) > 0 {
		return Spec{}, fmt.Errorf("scenario %q on containers: %s", plan.Name, strings.Join(errs, "; "))
	}
	return spec, nil
}

// ReplicaSeed is the seed of the replica called name in a run seeded
// with seed: the run's seed mixed with an FNV-1a hash of the name, as the
// local backend seeds its in-process replicas, so that one replica draws
// the same service times on both real backends.
func ReplicaSeed(seed uint64, name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return seed ^ h.Sum64()
}

// ReplicaGOMAXPROCS runs each replica's Go runtime on one processor. A
// fleet is many small processes (15 in the flagship) on a machine of few
// cores, each idle between its requests; with a processor per core every
// request that wakes an idle replica also wakes spinning scheduler threads.
// Measured on a 2-core development VM (2026-12-06, a risk replica on
// loopback, 100 requests/s for 10s, process CPU from /proc/PID/stat): 350
// µs of CPU per request with GOMAXPROCS=2, 240–260 µs with 1. In the
// flagship at 400/s the fleet's containers used 0.6–0.9 of the machine's
// two cores, the largest share of a run that, with the machine already
// busy, tips into timeouts and retries (bench/containers/doc.go, "CPU").
// One processor is what a replica would get as a pod with a CPU limit of
// one (Go sets GOMAXPROCS from the cgroup's limit since 1.25).
const ReplicaGOMAXPROCS = "1"
