package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshbench/meshbench/bench/containers"
	"github.com/meshbench/meshbench/scenarios"
)

func init() { register(newFleetCmd) }

// defaultFleetScenario is the scenario whose topology `fleet up` starts
// when none is named: the flagship of the library.
const defaultFleetScenario = "balancer-brownout"

func newFleetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Start, inspect and remove a payment fleet in Docker by hand",
		Long: `fleet runs the payment fleet of a scenario in Docker, without load or
proxies: for poking at replicas by hand, or for a proxy run elsewhere.

Every container is labelled meshbench.run=<id> and publishes its port on
127.0.0.1 only; payments calls risk, fraud and ledger over the fleet's own
Docker network. The image is built FROM scratch with a static paymentsvc,
compiled from the meshbench source checkout around the working directory
(a Go toolchain is needed), or taken from $` + containers.EnvBinary + `.`,
	}
	cmd.AddCommand(newFleetUpCmd(), newFleetStatusCmd(), newFleetDownCmd())
	return cmd
}

type fleetUpFlags struct {
	replicas []string
	run      string
	seed     uint64
	binary   string
}

func newFleetUpCmd() *cobra.Command {
	var f fleetUpFlags
	cmd := &cobra.Command{
		Use:   "up [SCENARIO]",
		Short: "Start a scenario's fleet and print each replica's container and URL",
		Long: `up starts one container per replica of SCENARIO's topology (a file or a
shipped scenario; default ` + defaultFleetScenario + `), waits until every replica
answers /readyz, and prints each replica's name, container id and URL. The
replica counts are the scenario's unless --replicas changes them.

The fleet keeps running after up returns; 'meshbench fleet down' removes it.
Ctrl-C while it starts removes what was started.`,
		Example: `  meshbench fleet up
  meshbench fleet up replica-crash --replicas payments=2,ledger=1
  meshbench fleet up balancer-brownout --replicas 3   # 3 replicas of every service`,
		Args:              rangeArgs(0, 1),
		ValidArgsFunction: completeScenario,
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := defaultFleetScenario
			if len(args) == 1 {
				arg = args[0]
			}
			return fleetUp(cmd, arg, f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.replicas, "replicas", nil, "replica counts instead of the scenario's: `N` for every service, or SERVICE=N,...")
	fl.StringVar(&f.run, "run", "", "run id to label the fleet with (`ID`; default: a fresh one)")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of the replicas' random streams (default: the scenario's)")
	fl.StringVar(&f.binary, "paymentsvc-bin", "", "static paymentsvc binary for the image (`PATH`; default $"+containers.EnvBinary+", else built from source)")
	return cmd
}

func fleetUp(cmd *cobra.Command, arg string, f fleetUpFlags) error {
	plan, _, err := loadScenario(arg)
	if err != nil {
		return usageErr(err)
	}
	if err := applyReplicas(plan, f.replicas); err != nil {
		return usageErr(err)
	}
	seed := plan.Seed
	if cmd.Flags().Changed("seed") {
		seed = f.seed
	}
	spec, err := containers.SpecFromPlan(plan, seed)
	if err != nil {
		return usageErr(err)
	}
	spec.RunID = f.run
	if spec.RunID == "" {
		spec.RunID = containers.NewRunID()
	}
	spec.ImageOptions.Binary = f.binary

	started := time.Now()
	fl, err := containers.Prepare(cmd.Context(), spec)
	if err != nil {
		return dockerErr(err)
	}
	prepared := time.Now()
	if err := fl.Launch(cmd.Context()); err != nil {
		return errors.Join(err, fl.Close())
	}
	ready := time.Now()
	if err := fl.Detach(); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "fleet %s: %d replicas of %s ready in %.1fs (image and network %.1fs, containers %.1fs; image %s)\n",
		fl.RunID, len(fl.Replicas), plan.Name, ready.Sub(started).Seconds(), prepared.Sub(started).Seconds(), ready.Sub(prepared).Seconds(), fl.Image)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tCONTAINER\tURL")
	for _, r := range fl.Replicas {
		fmt.Fprintf(w, "%s\t%.12s\t%s\n", r.Name(), r.ContainerID, r.URL)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "remove it with: meshbench fleet down --run %s\n", fl.RunID)
	return nil
}

// applyReplicas changes the plan's replica counts as --replicas says: a
// bare N for every service, or SERVICE=N pairs.
func applyReplicas(plan *scenarios.Plan, specs []string) error {
	for _, s := range specs {
		name, count, named := strings.Cut(s, "=")
		if !named {
			count = name
		}
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil || n < 1 {
			return fmt.Errorf("--replicas %q: want N or SERVICE=N with N at least 1", s)
		}
		if !named {
			for i := range plan.Services {
				plan.Services[i].Replicas = n
			}
			continue
		}
		svc, ok := plan.Topology.Service(strings.TrimSpace(name))
		if !ok {
			var names []string
			for _, s := range plan.Services {
				names = append(names, s.Name)
			}
			return fmt.Errorf("--replicas %q: scenario %q has no service %q (services: %s)", s, plan.Name, name, strings.Join(names, ", "))
		}
		svc.Replicas = n
	}
	return nil
}

func newFleetStatusCmd() *cobra.Command {
	var run string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List the running meshbench containers with their health",
		Long: `status lists every container labelled meshbench.run (or only those of
--run), with Docker's state and the answer of the replica's /readyz: ready,
not-ready, or the container's state when it is not running.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := containers.List(cmd.Context(), run)
			if err != nil {
				return dockerErr(err)
			}
			printFleetStatus(cmd.OutOrStdout(), list)
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "only the fleet of this run `ID`")
	return cmd
}

func printFleetStatus(out io.Writer, list []containers.Status) {
	if len(list) == 0 {
		fmt.Fprintln(out, "no meshbench containers")
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RUN\tNAME\tCONTAINER\tHEALTH\tURL")
	for _, s := range list {
		fmt.Fprintf(w, "%s\t%s\t%.12s\t%s\t%s\n", s.RunID, s.Name, s.ContainerID, s.Health(), s.URL)
	}
	_ = w.Flush()
}

func newFleetDownCmd() *cobra.Command {
	var run string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Remove meshbench containers and networks",
		Long: `down removes every container and network labelled meshbench.run, running
or not (or only those of --run): fleets started by 'fleet up', and anything
an interrupted run left behind. Fleet images are kept, so the next start
does not rebuild.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 2*time.Minute)
			defer cancel()
			rm, err := containers.RemoveRun(ctx, run)
			if err != nil {
				return dockerErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s and %s\n", plural(rm.Containers, "container"), plural(rm.Networks, "network"))
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "only the fleet of this run `ID`")
	return cmd
}

// dockerErr makes an unreachable Docker daemon a usage error (exit 2)
// with a hint; other errors stay failures.
func dockerErr(err error) error {
	if errors.Is(err, containers.ErrNoDocker) {
		return usageErr(fmt.Errorf("%w\n(the fleet commands and the containers backend need a Docker daemon: start one, or point DOCKER_HOST at it)", err))
	}
	return err
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
