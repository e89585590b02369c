package main

import (
	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/containers"
	"github.com/meshbench/meshbench/bench/local"
	"github.com/meshbench/meshbench/sim"
)

// The backends this build can run. Each arrives with its own package; the
// CLI only makes them known to the runner. bench/containers runs its
// Docker fleet behind bench/local's data plane (local.StartMesh, its
// DefaultMesh).
func init() {
	bench.Register(sim.Backend{})
	bench.Register(local.Backend{})
	bench.Register(containers.Backend{})
	bench.Register(kubeBackend) // kubernetes.go: run's flags set its options
}
