package main

import (
	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/local"
	"github.com/meshbench/meshbench/sim"
)

// The backends this build can run. Each arrives with its own package; the
// CLI only makes them known to the runner. bench/containers is not
// registered yet: its data plane (gateway and sidecars in front of the
// containers) waits for bench/local to export its plan-to-proxy mapping.
func init() {
	bench.Register(sim.Backend{})
	bench.Register(local.Backend{})
}
