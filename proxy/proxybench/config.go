package proxybench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// Target names.
const (
	TargetDirect    = "direct"
	TargetMeshbench = "meshbench"
	TargetNginx     = "nginx"
	TargetHAProxy   = "haproxy"
)

// AllTargets are the targets in report order.
var AllTargets = []string{TargetDirect, TargetMeshbench, TargetNginx, TargetHAProxy}

// Defaults of Config.
const (
	DefaultDuration    = 5 * time.Second
	DefaultWarmup      = time.Second
	DefaultRate        = 5000
	DefaultConnections = 64
	DefaultRounds      = 3
	maxRounds          = 20
)

// Config is one bench run. Zero values take the defaults above.
type Config struct {
	// Duration of each measured phase (fixed rate, saturation) per target
	// and round.
	Duration time.Duration
	// Rounds: every round measures every target back to back, and the
	// report gives medians over rounds of each target's figures and of its
	// per-round differences and ratios against direct and nginx, so that a
	// burst of noise on the machine moves one round, not the verdict.
	Rounds int
	// Warmup before each target's first phase: connections and pools
	// fill, nothing is recorded.
	Warmup time.Duration
	// Rate of the fixed-rate phase, requests per second.
	Rate int
	// Connections of the saturation phase.
	Connections int
	// Targets to measure, in AllTargets' names; direct is always measured
	// since the others are reported against it. Empty means all.
	Targets []string
	// NoTools skips the independent load generators (wrk, h2load) even
	// when they are installed.
	NoTools bool
	// Pin the proxy to core 1 and this process to core 0 (needs taskset
	// and two cores; skipped with a note otherwise).
	Pin bool
	// MeshbenchCommand returns the command line that runs the meshbench
	// proxy with a configuration file; default: this executable with
	// "proxy --config FILE".
	MeshbenchCommand func(configFile string) ([]string, error)
	// Progress receives one line per step (nil: none).
	Progress io.Writer
}

func (c Config) withDefaults() (Config, error) {
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Warmup == 0 {
		c.Warmup = DefaultWarmup
	}
	if c.Rounds == 0 {
		c.Rounds = DefaultRounds
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Connections == 0 {
		c.Connections = DefaultConnections
	}
	if len(c.Targets) == 0 {
		c.Targets = AllTargets
	}
	if c.MeshbenchCommand == nil {
		c.MeshbenchCommand = selfCommand
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	switch {
	case c.Duration < 0 || c.Warmup < 0:
		return c, errors.New("duration and warmup must not be negative")
	case c.Rate < 0:
		return c, errors.New("rate must be positive")
	case c.Connections < 1 || c.Connections > 10000:
		return c, fmt.Errorf("connections %d: want 1 to 10000", c.Connections)
	case c.Rounds < 1 || c.Rounds > maxRounds:
		return c, fmt.Errorf("rounds %d: want 1 to %d", c.Rounds, maxRounds)
	}
	for _, t := range c.Targets {
		if !slices.Contains(AllTargets, t) {
			return c, fmt.Errorf("unknown target %q: want some of %v", t, AllTargets)
		}
	}
	return c, nil
}

func (c Config) wants(target string) bool {
	return target == TargetDirect || slices.Contains(c.Targets, target)
}

// selfCommand runs this executable as `meshbench proxy`.
func selfCommand(configFile string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the meshbench executable: %w", err)
	}
	return []string{exe, "proxy", "--config", configFile}, nil
}
