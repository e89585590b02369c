package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshbench/meshbench/proxy/proxybench"
)

func init() { register(newBenchProxyCmd) }

func newBenchProxyCmd() *cobra.Command {
	var (
		cfg      proxybench.Config
		jsonFile string
		targets  []string
		noPin    bool
	)
	cmd := &cobra.Command{
		Use:   "bench-proxy",
		Short: "Measure the meshbench proxy against direct, nginx and HAProxy on loopback",
		Long: `bench-proxy loads a minimal HTTP/1.1 upstream on 127.0.0.1 directly and then
through each proxy — meshbench's own, run as 'meshbench proxy' in a separate
process, and nginx and HAProxy when they are installed (skipped otherwise) —
at a fixed rate (vegeta, open loop) and at saturation (closed loop), and
prints one table: throughput relative to direct, the latency each proxy adds
at the fixed rate, and the CPU time each proxy spends per request. Every
round measures every target back to back, and the table gives medians over
the rounds, so that a burst of noise on the machine moves one round and not
the result.

Each proxy also serves a middleware route (/mw/: an API key checked and a
per-key rate limit too high to refuse, in each proxy's own terms), loaded at
saturation. When installed, wrk (HTTP/1.1, both routes) and h2load (h2c,
the plain route) load every target too, so that the verdict does not rest
on the bench's own client; a second table gives each load generator's
figures, and a third meshbench's targets against nginx in the same rounds:
CPU per request on the plain route (≤ 1.0 ×), throughput on the middleware
route (≥ 0.8 ×), added p99 at the fixed rate (≤ 1.0 ×).

With two cores and taskset, the proxy runs on core 1 and this process (load
and upstream) on core 0; see proxy/proxybench for why CPU per request is the
figure that compares proxies fairly.`,
		Example: `  meshbench bench-proxy
  meshbench bench-proxy --duration 5s --rounds 5 --connections 32 --json bench.json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Targets = targets
			cfg.Pin = !noPin
			cfg.Progress = cmd.ErrOrStderr()
			if cfg.Duration <= 0 || cfg.Rate <= 0 || cfg.Connections <= 0 || cfg.Rounds <= 0 {
				return usageErr(errors.New("bench-proxy: --duration, --rate, --connections and --rounds must be positive"))
			}
			rep, err := proxybench.Run(cmd.Context(), cfg)
			if rep == nil {
				return usageErr(fmt.Errorf("bench-proxy: %w", err))
			}
			if werr := rep.WriteTable(cmd.OutOrStdout()); werr != nil {
				return werr
			}
			if jsonFile != "" {
				f, ferr := os.Create(jsonFile)
				if ferr != nil {
					return fmt.Errorf("bench-proxy: %w", ferr)
				}
				if werr := rep.WriteJSON(f); werr != nil {
					f.Close()
					return fmt.Errorf("bench-proxy: %w", werr)
				}
				if cerr := f.Close(); cerr != nil {
					return fmt.Errorf("bench-proxy: %w", cerr)
				}
			}
			if err != nil {
				return fmt.Errorf("bench-proxy interrupted: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&cfg.Duration, "duration", proxybench.DefaultDuration, "length of each measured phase per target and round")
	fl.IntVar(&cfg.Rounds, "rounds", proxybench.DefaultRounds, "rounds, each measuring every target back to back; the table gives medians")
	fl.DurationVar(&cfg.Warmup, "warmup", proxybench.DefaultWarmup, "warm-up before each target")
	fl.IntVar(&cfg.Rate, "rate", proxybench.DefaultRate, "requests per second of the fixed-rate phase")
	fl.IntVar(&cfg.Connections, "connections", proxybench.DefaultConnections, "connections of the saturation phase")
	fl.StringVar(&jsonFile, "json", "", "also write the report as JSON to `FILE`")
	fl.StringSliceVar(&targets, "targets", nil, "targets to measure besides direct ("+strings.Join(proxybench.AllTargets[1:], ",")+"; default all)")
	fl.BoolVar(&cfg.NoTools, "no-tools", false, "do not run wrk and h2load even when installed")
	fl.BoolVar(&noPin, "no-pin", false, "do not pin the proxy and the load to separate cores")
	return cmd
}
