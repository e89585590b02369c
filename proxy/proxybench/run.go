package proxybench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"
)

// loadGCPercent is GOGC while a bench runs.
const loadGCPercent = 1000

// Run starts the proxies of cfg.Targets, then measures the direct upstream
// and each proxy in turn, cfg.Rounds times over, and returns the report.
// Proxies that are not installed are skipped with a note. When ctx ends,
// Run stops what is running and returns the report of the rounds completed
// with ctx's error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now().UTC(), Duration: cfg.Duration.String(), Warmup: cfg.Warmup.String(), Rate: cfg.Rate, Connections: cfg.Connections, Rounds: cfg.Rounds}
	dir, err := os.MkdirTemp("", "meshbench-bench-proxy-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	var pin pinning
	if cfg.Pin {
		var restore func()
		var note string
		pin, restore, note = setupPinning()
		defer restore()
		rep.Pinned = pin.taskset != ""
		rep.Notes = append(rep.Notes, note)
	} else {
		rep.Notes = append(rep.Notes, "not pinned (the load generator, the upstream and the proxy share the cores)")
	}

	// The load side runs on one P: a garbage collection cycle's mark
	// worker holds it for milliseconds, which would show as latency of
	// every target. Collect rarely; the live heap is small.
	defer debug.SetGCPercent(debug.SetGCPercent(loadGCPercent))

	up, err := StartUpstream("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start upstream: %w", err)
	}
	defer up.Close()
	fmt.Fprintf(cfg.Progress, "upstream on %s\n", up.Addr())

	// Every target runs for the whole bench, so that each round can
	// measure them back to back; only the one being measured is loaded.
	slots := []*slot{{t: Target{Name: TargetDirect}, addr: up.Addr()}}
	defer func() {
		for _, sl := range slots {
			if sl.p != nil {
				sl.p.stop()
			}
		}
	}()
	launchers := []struct {
		name   string
		launch launcher
	}{{TargetMeshbench, launchMeshbench}, {TargetNginx, launchNginx}, {TargetHAProxy, launchHAProxy}}
	for _, l := range launchers {
		if ctx.Err() != nil {
			break
		}
		if !cfg.wants(l.name) {
			continue
		}
		sl := &slot{t: Target{Name: l.name}}
		slots = append(slots, sl)
		p, err := l.launch(dir, up.Addr(), pin, cfg)
		if err != nil {
			var skip *errSkip
			if !errors.As(err, &skip) {
				err = fmt.Errorf("could not start: %w", err)
			}
			fmt.Fprintf(cfg.Progress, "%s: skipped: %v\n", l.name, err)
			sl.t.Skipped = err.Error()
			continue
		}
		sl.p, sl.addr, sl.t.Version = p, p.addr, p.version
		if err := p.ready(ctx); err != nil {
			sl.t.Skipped = err.Error()
		}
	}
	for _, sl := range slots {
		if sl.t.Skipped == "" && ctx.Err() == nil {
			fmt.Fprintf(cfg.Progress, "%s: warm-up %s\n", sl.t.Name, cfg.Warmup)
			warmUp(ctx, cfg, sl.addr)
		}
	}
	for round := 1; round <= cfg.Rounds && ctx.Err() == nil; round++ {
		for _, sl := range slots {
			if sl.t.Skipped != "" || ctx.Err() != nil {
				continue
			}
			rd, other := measure(ctx, cfg, round, sl.t.Name, sl.addr, sl.p)
			if ctx.Err() != nil {
				break // an interrupted round is not a round
			}
			sl.t.Rounds = append(sl.t.Rounds, rd)
			sl.t.OtherCPU = max(sl.t.OtherCPU, other)
		}
	}
	for _, sl := range slots {
		sl.t.pickMedians()
		rep.Targets = append(rep.Targets, sl.t)
	}
	rep.compare()
	return rep, ctx.Err()
}

// slot is a target while the bench runs.
type slot struct {
	t    Target
	addr string
	p    *process // nil for direct
}

// warmUp fills connections and pools; nothing is recorded.
func warmUp(ctx context.Context, cfg Config, addr string) {
	_ = fixedRate(ctx, "http://"+addr+"/bench", cfg.Rate, cfg.Warmup/2)
	_ = closedLoop(ctx, addr, cfg.Connections, cfg.Warmup/2)
}

// measure runs one round's two phases against addr, reading the CPU time
// of p (nil for direct) around each, and returns them with the CPU, in
// cores, that other processes used meanwhile.
func measure(ctx context.Context, cfg Config, round int, name, addr string, p *process) (Round, float64) {
	var rd Round
	url := "http://" + addr + "/bench"
	n := startNoise()
	cpuOf := func() cpuTime {
		if p == nil {
			return cpuTime{}
		}
		d, err := processCPU(p.pid())
		if err != nil {
			fmt.Fprintf(cfg.Progress, "%s: cpu: %v\n", name, err)
		}
		return d
	}
	fmt.Fprintf(cfg.Progress, "round %d/%d: %s: %d req/s for %s\n", round, cfg.Rounds, name, cfg.Rate, cfg.Duration)
	c0 := cpuOf()
	rd.Rate = fixedRate(ctx, url, cfg.Rate, cfg.Duration)
	c1 := cpuOf()
	fmt.Fprintf(cfg.Progress, "round %d/%d: %s: %d connections closed-loop for %s\n", round, cfg.Rounds, name, cfg.Connections, cfg.Duration)
	rd.Saturation = closedLoop(ctx, addr, cfg.Connections, cfg.Duration)
	c2 := cpuOf()
	if p != nil {
		rd.Rate.cpu(c1.sub(c0))
		rd.Saturation.cpu(c2.sub(c1))
	}
	return rd, n.cores()
}
