package measure

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench/calibration"
	"github.com/meshbench/meshbench/bench/containers"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/internal/cputime"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/scenarios"
)

// Containers measures the containers backend's extra cost per hop: the
// same replica (role risk, the same constant service time) run from the
// containers backend's fleet image and reached through its published port
// on 127.0.0.1 (Docker's proxy and bridge), against the in-process replica
// on loopback, in interleaved rounds with the minimal client. The hop's
// extra latency is the difference of their quantiles. The CPU per request
// of the containerised replica is read from /proc for the container's
// paymentsvc process and Docker's proxy process of its published port (the
// engine's own CPU for the port), or better from the whole machine's CPU
// (cputime.Machine), which also has the kernel's work on the bridge; the
// client and the gateway run on the host as on the local backend, so they
// keep local's figures, and a sidecar's call costs what leaving the
// caller's container adds.
//
// A second container runs the payment role, its calls going out of the
// container to risk, fraud and ledger replicas in this process on the run
// network's host address (where the backend's sidecars listen); against
// the same flow in process it gives what a call costs more when it leaves
// a container (Call).
//
// With a mesh phase (cfg.Mesh), the library's payment flow then runs on
// the containers backend itself, and the simulator on the same flow finds
// the factor on the section's hop and call at which its median is the
// measured one (containersMesh).
//
// It returns nil and a note, not an error, when Docker is not available.
func Containers(ctx context.Context, cfg Config, local *Result) (*calibration.Containers, string, error) {
	cfg = cfg.withDefaults()
	if err := containers.Available(ctx); err != nil {
		return nil, err.Error(), nil
	}
	c, note, err := containersHops(ctx, cfg, local)
	if c == nil || err != nil || cfg.Mesh <= 0 || local.Local == nil {
		return c, note, err
	}
	if c.Mesh, err = containersMesh(ctx, cfg, local.Local, c); err != nil {
		if ctx.Err() != nil {
			return nil, "", err
		}
		// The hops measured stand without the scale.
		fmt.Fprintf(cfg.Log, "  containers mesh: skipped, the section has no scale: %v\n", err)
	}
	return c, "", nil
}

// containersHops measures the containers section's hop, call and CPU.
func containersHops(ctx context.Context, cfg Config, local *Result) (*calibration.Containers, string, error) {
	tag := fmt.Sprintf("calibrate-%d", os.Getpid())
	name := "risk[" + tag + "]"
	replicaOf := func(role fleet.Role) containers.ReplicaSpec {
		env := map[string]string{
			"PAYMENTSVC_ROLE":         string(role),
			"PAYMENTSVC_NAME":         string(role) + "[" + tag + "]",
			"PAYMENTSVC_SEED":         "1",
			"PAYMENTSVC_CONCURRENCY":  "0",
			"PAYMENTSVC_QUEUE":        "0",
			"PAYMENTSVC_ERROR_RATE":   "0",
			"PAYMENTSVC_SERVICE_TIME": fleet.FormatDistribution(scenarios.DistributionSpec{Type: "constant", Value: cfg.ServiceTime}),
			"GOMAXPROCS":              containers.ReplicaGOMAXPROCS, // as the backend runs its replicas
		}
		if role == fleet.RolePayments {
			env["PAYMENTSVC_REQUIRE_IDEMPOTENCY_KEY"] = "false"
		}
		return containers.ReplicaSpec{Service: string(role), Index: 0, Env: env}
	}
	// A risk replica for the hop into a container, and a payments replica
	// whose calls leave its container for risk, fraud and ledger replicas
	// in this process, on the run network's host address, where the
	// backend's sidecars listen.
	spec := containers.Spec{Replicas: []containers.ReplicaSpec{replicaOf(fleet.RoleRisk), replicaOf(fleet.RolePayments)}}
	f, err := containers.Prepare(ctx, spec)
	if err != nil {
		if errors.Is(err, containers.ErrNoDocker) {
			return nil, err.Error(), nil
		}
		return nil, "", fmt.Errorf("calibrate: containers: %w", err)
	}
	defer f.Close()
	r, err := startRig(cfg.ServiceTime)
	if err != nil {
		return nil, "", fmt.Errorf("calibrate: containers: %w", err)
	}
	defer r.close()
	urls, err := r.startCallees(scenarios.DistributionSpec{Type: "constant", Value: cfg.ServiceTime}, f.HostAddr.String())
	if err != nil {
		return nil, "", fmt.Errorf("calibrate: containers: the payment flow's callees on %s: %w", f.HostAddr, err)
	}
	f.Downstream = func(containers.ReplicaSpec) containers.DownstreamURLs {
		return containers.DownstreamURLs{Risk: urls[fleet.RoleRisk], Fraud: urls[fleet.RoleFraud], Ledger: urls[fleet.RoleLedger]}
	}
	if err := f.Launch(ctx); err != nil {
		return nil, "", fmt.Errorf("calibrate: containers: %w", err)
	}
	rep, pay := f.Replica(string(fleet.RoleRisk), 0), f.Replica(string(fleet.RolePayments), 0)
	if rep == nil || pay == nil {
		return nil, "", fmt.Errorf("calibrate: containers: the replicas did not start")
	}

	pids := containerPIDs(name, rep.HostPort)
	targets := []target{
		{name: "direct", addr: r.replica, raw: true},
		{name: "container", addr: rep.Endpoint(), raw: true},
		{name: "flow", addr: r.payments, raw: true, path: "/v1/payments"},
		{name: "container-flow", addr: pay.Endpoint(), raw: true, path: "/v1/payments"},
	}
	phases := map[string]*Phase{}
	clients := map[string][]client{}
	defer func() {
		for _, cs := range clients {
			for _, c := range cs {
				c.close()
			}
		}
	}()
	for _, t := range targets {
		cs := make([]client, cfg.Workers)
		for i := range cs {
			cs[i] = newRawClient()
			if t.path != "" {
				cs[i] = newRawClientFor(t.path)
			}
		}
		clients[t.name] = cs
		phases[t.name] = &Phase{Name: t.name, Hist: newHist()}
		if _, err := load(ctx, cs, t.addr, cfg.Rate, cfg.Warmup, nil); err != nil {
			return nil, "", fmt.Errorf("calibrate: containers: warm-up of %s: %w", t.name, err)
		}
	}
	// Half the local phases' requests: the image and the container's
	// start take their share of calibrate's two minutes.
	per := max(cfg.Requests/2/cfg.Rounds, 1)
	var outside time.Duration // CPU of the container's processes
	machine := map[string]time.Duration{}
	for round := 1; round <= cfg.Rounds; round++ {
		for _, t := range targets {
			ph := phases[t.name]
			h := newHist()
			before, ob, mb := processCPU(), pidsCPU(pids), cputime.Machine()
			n, err := load(ctx, clients[t.name], t.addr, cfg.Rate, per, h)
			ph.CPU += processCPU() - before
			machine[t.name] += cputime.Machine() - mb
			ph.Hist.Merge(h)
			ph.Rounds = append(ph.Rounds, h)
			if t.name == "container" {
				outside += pidsCPU(pids) - ob
			}
			ph.Requests += per
			ph.Errors += n
			if err != nil {
				return nil, "", fmt.Errorf("calibrate: containers: %s: %w", t.name, err)
			}
		}
		fmt.Fprintf(cfg.Log, "  containers round %d/%d: %d requests per phase\n", round, cfg.Rounds, per)
	}
	for _, t := range targets {
		if ph := phases[t.name]; ph.Errors*100 > ph.Requests {
			return nil, "", fmt.Errorf("calibrate: containers: %s: %d of %d answers were not 2xx", t.name, ph.Errors, ph.Requests)
		}
	}
	d, c := phases["direct"], phases["container"]
	hop := roundsDiff(c, d, 0)
	// The flow in a container costs one hop into payments and two stages
	// of calls more than in process: a call's share is half of what is
	// left once the hop is taken off, round by round and quantile by
	// quantile, as the other differences.
	fl, cf := phases["flow"], phases["container-flow"]
	call := roundsCombine(len(d.Rounds), func(r int, q float64) time.Duration {
		return (quantile(cf.Rounds[r], q) - quantile(fl.Rounds[r], q) - quantile(c.Rounds[r], q) + quantile(d.Rounds[r], q)) / 2
	}, func(r int) time.Duration {
		return (mean(cf.Rounds[r]) - mean(fl.Rounds[r]) - mean(c.Rounds[r]) + mean(d.Rounds[r])) / 2
	})
	lh := local.Local.Host
	replica, sidecar := *lh.CPU.Replica, *lh.CPU.Sidecar
	perReq := func(name string) time.Duration { return machine[name] / time.Duration(phases[name].Requests) }
	switch {
	case machine["direct"] > 0:
		// The whole machine's CPU (/proc/stat: every process, the
		// kernel's network stack and Docker's proxy), phase against
		// phase: a request into a container costs the local replica's CPU
		// plus what the container's path adds; a call out of a container
		// (three per payment flow) what the flow in a container adds
		// beyond its one hop in.
		extra := max(perReq("container")-perReq("direct"), 0)
		replica += config.Duration(extra)
		sidecar += config.Duration(max(perReq("container-flow")-perReq("flow")-extra, 0) / 3)
	case len(pids) > 0 && c.Requests > 0:
		// No /proc/stat: the container's own processes only.
		replica = *calibration.D(outside / time.Duration(c.Requests))
	}
	host := &calibration.Host{Cores: lh.Cores, CPU: &calibration.HostCPU{
		Client: lh.CPU.Client, Gateway: lh.CPU.Gateway, Sidecar: &sidecar, Replica: &replica,
		GRPCProxy: lh.CPU.GRPCProxy, GRPCCall: lh.CPU.GRPCCall,
	}}
	return &calibration.Containers{Hop: hop, Call: call, Host: host}, "", nil
}

// containerPIDs finds the container's paymentsvc process (by its
// PAYMENTSVC_NAME, unique to this calibration) and Docker's proxy of its
// published port, by reading /proc; none when they cannot be read.
func containerPIDs(name string, port int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(cmd), "\x00")
		if len(args) > 0 && strings.HasSuffix(args[0], "docker-proxy") && strings.Contains(string(cmd), "\x00"+strconv.Itoa(port)+"\x00") {
			out = append(out, pid)
			continue
		}
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if strings.Contains(string(env), "PAYMENTSVC_NAME="+name+"\x00") {
			out = append(out, pid)
		}
	}
	return out
}

// pidsCPU is the user + system CPU of pids so far (clock ticks of 10 ms,
// /proc/PID/stat fields 14 and 15).
func pidsCPU(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(u+k) * 10 * time.Millisecond
	}
	return total
}

// containersMesh runs meshPlan on the containers backend for four fifths
// of the mesh phase (its fleet's start is on top), sets c's CPU Mesh and
// Scale from the machine's CPU over it, and finds the factor on
// c's hop and call at which the simulator's median of the same flow,
// predicting containers with the local section l as measured and scaled,
// is the measured one. Leaving a container costs far more on a loaded
// 2-core machine than the hop and call phases measure one replica at a
// time: every replica there is a process of its own, and a woken one
// waits for the cores behind the others (docs/calibration.md).
//
// A machine whose containers backend is past its knee at the calibration's
// rate (the flow fails, or its median is more than meshPastKnee times the
// local mesh's at the same rate) measures queues and retries there, not
// what a request costs, so the mesh runs again at half the rate, for half
// as long (the calibration's two minutes have room for a second fleet's
// start, not for a second full phase), and the section's mesh says so
// (Rate).
func containersMesh(ctx context.Context, cfg Config, l *calibration.Local, c *calibration.Containers) (*calibration.MeshLatency, error) {
	d := cfg.Mesh * 4 / 5
	rate := cfg.Rate
	fmt.Fprintf(cfg.Log, "  containers mesh: the payment flow on the containers backend, %s at %d/s\n", d, rate)
	m, err := runMesh(ctx, containers.Backend{}, calibration.BackendContainers, rate, d)
	if why := pastKnee(m, err, l.Mesh); why != "" && ctx.Err() == nil && rate/2 > 0 {
		rate, d = rate/2, d/2
		fmt.Fprintf(cfg.Log, "  containers mesh: past the containers backend's knee at %d/s (%s): again at %d/s for %s\n", cfg.Rate, why, rate, d)
		m, err = runMesh(ctx, containers.Backend{}, calibration.BackendContainers, rate, d)
	}
	if err != nil {
		return nil, fmt.Errorf("calibrate: containers mesh: %w", err)
	}
	// The machine's CPU per request of the flow (the backend reads it
	// from /proc/stat), against what the section's figures add up to:
	// every replica a runtime of its own and every hop through Docker's
	// proxy cost more together than the one replica of the hop phase, and
	// the host model charges the figures times it, as the local section's.
	if cpu := c.Host.CPU; m.PerRequest() > 0 {
		cpu.Mesh = calibration.D(m.PerRequest())
		cpu.Scale = meshScale(m.PerRequest(), cpu)
	}
	ml, err := solveMesh(ctx, calibration.BackendContainers, m, 4, func(s float64) *calibration.Profile {
		cs := *c
		cs.Mesh = &calibration.MeshLatency{Scale: s}
		return &calibration.Profile{Backends: calibration.Backends{Local: l, Containers: &cs}}
	}, l.Host.Cores)
	if ml != nil && rate != cfg.Rate {
		ml.Rate = rate
	}
	return ml, err
}

// pastKnee says why a containers mesh m (or its error err) is past the
// backend's knee: it failed more than 1% of its requests, or its median is
// over meshPastKnee times the local mesh lm's at the same rate; "" when it
// is not, or when there is nothing to judge it by.
func pastKnee(m *Mesh, err error, lm *calibration.MeshLatency) string {
	var failed *meshFailed
	switch {
	case errors.As(err, &failed):
		return failed.msg
	case err != nil:
		return ""
	case lm == nil || lm.P50 <= 0 || m == nil:
		return ""
	case m.P50 > meshPastKnee*lm.P50.D():
		return fmt.Sprintf("median %s, over %d times the local mesh's %s", m.P50.Round(100*time.Microsecond), meshPastKnee, lm.P50.D().Round(100*time.Microsecond))
	}
	return ""
}
