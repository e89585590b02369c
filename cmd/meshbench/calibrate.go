package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/bench/calibration/measure"
)

func init() { register(newCalibrateCmd) }

// The measurements calibrate runs; tests replace them.
var (
	measureLocal      = measure.Local
	measureContainers = measure.Containers
)

type calibrateFlags struct {
	out      string
	quick    bool
	backends []string
}

func newCalibrateCmd() *cobra.Command {
	var f calibrateFlags
	cmd := &cobra.Command{
		Use:   "calibrate",
		Short: "Measure what a hop costs on this machine and write a calibration profile",
		Long: `calibrate measures, on this machine and on 127.0.0.1 only, what the real
backends' hops cost: the latency the proxy adds per hop (fast path, general
path, general path with mutual TLS; proxied minus direct to the same fleet
replica) as distributions, the load generator's own latency, a replica's
own latency beyond its service time, and the CPU time per request of the
client, the gateway, a sidecar and a replica, each alone, and of a whole
mesh (the payment flow on the local backend, at the rate, at twice it and
near the machine's knee), whose ratio to their sum scales them in the
simulator's host model; it runs the simulator on the same flow at each
rate and scales the latency figures so that its median is the one
measured there. With Docker available it also
measures the containers backend's extra cost per hop (a Docker published
port and bridge). It writes a calibration profile (YAML, schema
` + calibration.Schema + `, documented in docs/calibration.md) that
` + "`meshbench run --calibration FILE`" + ` or a scenario's calibration: key applies
to the simulator. It takes under two minutes (--quick: about 20 seconds).`,
		Example: `  meshbench calibrate --out calibration.yaml
  meshbench calibrate --quick --backend local --out /tmp/quick.yaml`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return calibrate(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "calibration.yaml", "profile to write (`FILE`)")
	fl.BoolVar(&f.quick, "quick", false, "measure with few requests (about 20 s; for tests and smoke checks)")
	fl.StringSliceVar(&f.backends, "backend", []string{calibration.BackendLocal, calibration.BackendContainers},
		"backends to calibrate (`NAME`,...: local, containers; local is always measured); containers is skipped with a note when Docker is not available")
	return cmd
}

func calibrate(cmd *cobra.Command, f calibrateFlags) error {
	for _, b := range f.backends {
		if b != calibration.BackendLocal && b != calibration.BackendContainers {
			return usageErr(fmt.Errorf("--backend: unknown backend %q (local, containers)", b))
		}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	out := cmd.OutOrStdout()
	cfg := measure.Config{}
	if f.quick {
		cfg = measure.Quick()
	}
	cfg.Log = out
	begin := time.Now()
	machine := calibration.ThisMachine()
	fmt.Fprintf(out, "calibrating on %s, %d cores, %s, kernel %s, %s\n", machine.CPU, machine.Cores, machine.OS, machine.Kernel, machine.Go)
	fmt.Fprintln(out, "local: the real proxy and a fleet replica on 127.0.0.1:")
	res, err := measureLocal(ctx, cfg)
	if err != nil {
		return err
	}
	cfg = res.Config
	p := &calibration.Profile{
		Schema:  calibration.Schema,
		Machine: machine,
		Measured: calibration.Measured{
			Quick:       cfg.Quick,
			Rate:        cfg.Rate,
			Requests:    res.Phases["direct"].Requests,
			ServiceTime: *calibration.D(cfg.ServiceTime),
			OtherCores:  res.OtherCores,
			StealCores:  res.StealCores,
		},
		Backends: calibration.Backends{Local: res.Local},
	}
	printLocal(out, res)
	if o := res.OtherCores; o != nil {
		fmt.Fprintf(out, "  the rest of the machine meanwhile: %.2f cores (other processes, interrupts)\n", *o)
	}
	if st := res.StealCores; st != nil {
		fmt.Fprintf(out, "  the hypervisor's steal meanwhile: %.2f cores (other guests on the host)\n", *st)
	}
	if why := p.Disturbed(); why != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "meshbench: warning: this machine looked disturbed while it was measured: %s; the figures likely carry it, and every prediction made with them will: calibrate again when the machine is quiet\n", why)
	}
	// A containers measurement that fails, or is interrupted (Ctrl-C), does
	// not lose the local one: the profile is written without the
	// containers section, and the error is returned after it when
	// containers was asked for by name or the run was interrupted.
	var failed error
	if slices.Contains(f.backends, calibration.BackendContainers) {
		c, note, err := measureContainers(ctx, cfg, res)
		switch {
		case err != nil:
			fmt.Fprintf(out, "containers: not measured: %v\n", err)
			if ctx.Err() != nil || cmd.Flags().Changed("backend") {
				failed = err
			}
		case c == nil:
			fmt.Fprintf(out, "containers: not measured: %s\n", note)
		default:
			p.Backends.Containers = c
			fmt.Fprintf(out, "containers: extra per hop (Docker published port and bridge): %s\n", distLine(c.Hop))
			fmt.Fprintf(out, "  extra per call out of a container:                        %s\n", distLine(c.Call))
			fmt.Fprintf(out, "  CPU per request: %s\n", hostLine(c.Host))
			if m := c.Mesh; m != nil {
				at := ""
				if m.Rate > 0 {
					at = fmt.Sprintf(" (at %d/s)", m.Rate)
				}
				fmt.Fprintf(out, "  mesh latency%s: p50 %s  p99 %s; the simulator's p50 with hop and call as measured %s, so they are charged ×%.3f (scale)\n",
					at, us(m.P50.D()), us(m.P99.D()), us(m.Predicted.D()), m.Scale)
			}
		}
	}
	p.Measured.At = time.Now().UTC().Format(time.RFC3339)
	if err := p.Validate(); err != nil {
		return fmt.Errorf("calibrate: the measurement gave an invalid profile: %w", err)
	}
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	if dir := filepath.Dir(f.out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(f.out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (%s) in %s\n", f.out, calibration.Schema, time.Since(begin).Round(100*time.Millisecond))
	if failed != nil {
		return fmt.Errorf("%w (the profile was written without a containers section)", failed)
	}
	return nil
}

func printLocal(out io.Writer, res *measure.Result) {
	l := res.Local
	for _, name := range []string{"direct", "client", "fast", "general", "mtls", "payments"} {
		ph := res.Phases[name]
		if ph.Errors > 0 {
			fmt.Fprintf(out, "  note: %s had %d answers other than 2xx\n", name, ph.Errors)
		}
	}
	fmt.Fprintf(out, "local, %d requests per phase at %d/s:\n", res.Phases["direct"].Requests, res.Config.Rate)
	fmt.Fprintf(out, "  proxy hop, fast path:      %s\n", distLine(l.Hops.Fast))
	fmt.Fprintf(out, "  proxy hop, general path:   %s\n", distLine(l.Hops.General))
	fmt.Fprintf(out, "  proxy hop, mutual TLS:     %s\n", distLine(l.Hops.MTLS))
	if l.Hops.GRPC != nil {
		fmt.Fprintf(out, "  proxy hop, gRPC (h2c):     %s\n", distLine(l.Hops.GRPC))
	}
	if l.Hops.Hit != nil {
		fmt.Fprintf(out, "  gateway's cache hit:       %s (the whole round trip)\n", distLine(l.Hops.Hit))
	}
	fmt.Fprintf(out, "  load generator (client):   %s\n", distLine(l.Client))
	if l.Lag != nil {
		fmt.Fprintf(out, "  load generator's lag:      %s\n", distLine(l.Lag))
	}
	if l.GRPCClient != nil {
		fmt.Fprintf(out, "  gRPC client and server:    %s\n", distLine(l.GRPCClient))
	}
	fmt.Fprintf(out, "  replica beyond service:    %s\n", distLine(l.Replica))
	fmt.Fprintf(out, "  payment role's own work:   %s\n", distLine(l.Payments))
	if l.Handshake != nil {
		fmt.Fprintf(out, "  new mutual TLS connection: %s of CPU, both ends (handshake, dial, setup, the old one's close)\n", us(l.Handshake.D()))
	}
	fmt.Fprintf(out, "  CPU per request:           %s\n", hostLine(l.Host))
	if m := l.Mesh; m != nil {
		fmt.Fprintf(out, "  mesh latency:              p50 %s  p99 %s; the simulator's p50 from the figures above %s, so they are charged ×%.3f (scale)\n",
			us(m.P50.D()), us(m.P99.D()), us(m.Predicted.D()), m.Scale)
		for _, pt := range m.Curve[min(1, len(m.Curve)):] {
			fmt.Fprintf(out, "    at %d/s:                 p50 %s  p99 %s; the simulator's p50 %s, so ×%.3f there\n",
				pt.Rate, us(pt.P50.D()), us(pt.P99.D()), us(pt.Predicted.D()), pt.Scale)
		}
	}
}

func distLine(d *calibration.Dist) string {
	q := d.Quantiles()
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  mean %s", us(q[4]), us(q[6]), us(q[8]), us(q[9]), us(d.Mean.D()))
}

func hostLine(h *calibration.Host) string {
	grpc := ""
	if c := h.CPU; c.GRPCProxy != nil && c.GRPCCall != nil {
		grpc = fmt.Sprintf("; over gRPC a proxy %s, a call's two ends %s more", us(c.GRPCProxy.D()), us(c.GRPCCall.D()))
	}
	mesh := ""
	if c := h.CPU; c.Mesh != nil && c.Scale > 0 {
		mesh = fmt.Sprintf("; a whole mesh %s per request, %.3f× its components' sum (scale)", us(c.Mesh.D()), c.Scale)
		for _, pt := range c.Curve[min(1, len(c.Curve)):] {
			mesh += fmt.Sprintf("; at %d/s %s, %.3f×", pt.Rate, us(pt.Mesh.D()), pt.Scale)
		}
	}
	return fmt.Sprintf("client %s, gateway %s, sidecar %s, replica %s%s%s (%d cores)",
		us(h.CPU.Client.D()), us(h.CPU.Gateway.D()), us(h.CPU.Sidecar.D()), us(h.CPU.Replica.D()), grpc, mesh, h.Cores)
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond)) }
