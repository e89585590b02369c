package main

import (
	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/sim"
)

// The backends this build can run. Each arrives with its own package; the
// CLI only makes them known to the runner.
func init() {
	bench.Register(sim.Backend{})
}
