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
// engine's own CPU for the port); the client, gateway and sidecar run on
// the host as on the local backend, so they keep local's figures.
//
// It returns nil and a note, not an error, when Docker is not available.
func Containers(ctx context.Context, cfg Config, local *Result) (*calibration.Containers, string, error) {
	cfg = cfg.withDefaults()
	if err := containers.Available(ctx); err != nil {
		return nil, err.Error(), nil
	}
	name := fmt.Sprintf("risk[calibrate-%d]", os.Getpid())
	spec := containers.Spec{Replicas: []containers.ReplicaSpec{{Service: "risk", Index: 0, Env: map[string]string{
		"PAYMENTSVC_ROLE":         string(fleet.RoleRisk),
		"PAYMENTSVC_NAME":         name,
		"PAYMENTSVC_SEED":         "1",
		"PAYMENTSVC_CONCURRENCY":  "0",
		"PAYMENTSVC_QUEUE":        "0",
		"PAYMENTSVC_ERROR_RATE":   "0",
		"PAYMENTSVC_SERVICE_TIME": fleet.FormatDistribution(scenarios.DistributionSpec{Type: "constant", Value: cfg.ServiceTime}),
	}}}}
	f, err := containers.StartFleet(ctx, spec)
	if err != nil {
		if errors.Is(err, containers.ErrNoDocker) {
			return nil, err.Error(), nil
		}
		return nil, "", fmt.Errorf("calibrate: containers: %w", err)
	}
	defer f.Close()
	rep := f.Replica("risk", 0)
	if rep == nil {
		return nil, "", fmt.Errorf("calibrate: containers: the replica did not start")
	}
	r, err := startRig(cfg.ServiceTime)
	if err != nil {
		return nil, "", fmt.Errorf("calibrate: containers: %w", err)
	}
	defer r.close()

	pids := containerPIDs(name, rep.HostPort)
	targets := []target{{"direct", r.replica, true, ""}, {"container", rep.Endpoint(), true, ""}}
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
	for round := 1; round <= cfg.Rounds; round++ {
		for _, t := range targets {
			ph := phases[t.name]
			h := newHist()
			before, ob := processCPU(), pidsCPU(pids)
			n, err := load(ctx, clients[t.name], t.addr, cfg.Rate, per, h)
			ph.CPU += processCPU() - before
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
	d, c := phases["direct"], phases["container"]
	hop := roundsDiff(c, d, 0)
	lh := local.Local.Host
	replica := *lh.CPU.Replica
	if len(pids) > 0 && c.Requests > 0 {
		replica = *calibration.D(outside / time.Duration(c.Requests))
	}
	host := &calibration.Host{Cores: lh.Cores, CPU: &calibration.HostCPU{
		Client: lh.CPU.Client, Gateway: lh.CPU.Gateway, Sidecar: lh.CPU.Sidecar, Replica: &replica,
	}}
	return &calibration.Containers{Hop: hop, Host: host}, "", nil
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
