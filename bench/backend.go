package bench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/internal/suggest"
	"github.com/meshbench/meshbench/scenarios"
)

// Backend executes one variant of a plan and reports every request's Result.
// The simulator, the local fleet and the container fleet are backends; the
// runner, the aggregator and the reports do not know which one ran.
type Backend interface {
	// Name is the backend's name as scenarios and --backend spell it.
	Name() string
	// Run executes job and calls sink.Record once per request, from one
	// goroutine at a time. It returns when the plan's timeline ends, or early
	// when ctx is cancelled; either way every result produced so far has been
	// recorded. On cancellation it returns ctx.Err() with the Outcome so far.
	Run(ctx context.Context, job Job, sink Sink) (Outcome, error)
}

// Parallel is implemented by backends whose runs may execute concurrently
// (the simulator: each variant is an independent, deterministic computation).
// Real backends share the machine and the network, so they run one at a time.
type Parallel interface {
	Parallel() bool
}

// Job is one run: a variant of a plan, with the seed for this repeat.
type Job struct {
	// Plan is the variant's plan (scenarios.Plan.ForVariant): its Load is
	// what this variant is offered.
	Plan    *scenarios.Plan
	Variant int    // index into Plan.Variants
	Repeat  int    // 0-based repeat number
	Seed    uint64 // the seed of this repeat (Plan.Seed for repeat 0)
	// Progress, when not nil, is called now and then with how far through
	// the plan's timeline the run is (0..Plan.Duration).
	Progress func(elapsed time.Duration)
	// Dir is the run folder, or "" when the run writes none. A backend may
	// leave files of its own there.
	Dir string
	// Raw, when not nil, takes the backend's own record of each request for
	// the run folder's results file (ResultsFile). Real backends write
	// vegeta results (*vegeta.Result) there, so that `vegeta report
	// results.bin` reads a run; one encoder serves every job of a run, so
	// the file is one stream. Raw is safe for concurrent use.
	Raw RawEncoder
}

// ResultsFile is the name of the results file in a run folder: the gob
// stream of the real backends' per-request records, in vegeta's own
// encoding (vegeta's NewEncoder is a gob encoder of *vegeta.Result).
const ResultsFile = "results.bin"

// RawEncoder writes records to a run's results file, as gob.Encoder does.
type RawEncoder interface {
	Encode(record any) error
}

// Outcome is what a backend knows at the end of a run beyond the results.
type Outcome struct {
	// End is how far the timeline got: Plan.Duration when complete.
	End time.Duration
	// Audit is the ledger audit of a real backend; nil for the simulator.
	Audit *Audit
	// CPU is the CPU the run spent over its measured window, when the
	// backend knows it: the local backend's process, the containers
	// backend's whole machine, the simulator's host model. nil otherwise.
	CPU *CPUSpent
}

// CPUSpent is CPU time spent over a span of a run's timeline: from the
// end of the warm-up to the end of the load, or to where a cancelled run
// stopped.
type CPUSpent struct {
	Used time.Duration // CPU time, all cores together
	Span time.Duration // wall (or virtual) time it was spent over
	// Beside is what the rest of the machine spent over the same span,
	// when a real backend could read it (nil on the simulator, and where
	// /proc/stat cannot be read).
	Beside *Beside
}

// Beside is what the rest of a real run's machine spent while it was
// measured: work that shares the cores with the measured system and
// stretches its latencies, though no figure of the run counts it.
type Beside struct {
	// Other is the machine's busy CPU time less Used: other processes
	// and the kernel's interrupt work (some of it for the run's own
	// traffic). 0 where Used is the whole machine's (containers).
	Other time.Duration
	// Steal is the time a core wanted to run while the hypervisor ran
	// another guest (a VM's neighbour on its host).
	Steal time.Duration
}

// DisturbedCores is the mean of Other and Steal together, in cores, from
// which a real run counts as measured on a busy machine: the threshold a
// calibration's measurement is held to.
const DisturbedCores = calibration.DisturbedCores

var (
	registryMu sync.Mutex
	registry   = map[string]Backend{}
)

// Register makes a backend available to Run under its name. It panics on a
// duplicate name, which is a programming error.
func Register(b Backend) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[b.Name()]; dup {
		panic("bench: backend registered twice: " + b.Name())
	}
	registry[b.Name()] = b
}

// Lookup returns the registered backend called name.
func Lookup(name string) (Backend, error) {
	registryMu.Lock()
	defer registryMu.Unlock()
	b, ok := registry[name]
	if !ok {
		names := backendNamesLocked()
		return nil, fmt.Errorf("unknown backend %q%s", name, suggest.HintOrList(name, names))
	}
	return b, nil
}

// BackendNames lists the registered backends, sorted.
func BackendNames() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	return backendNamesLocked()
}

func backendNamesLocked() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
