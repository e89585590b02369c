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

// Run measures the direct upstream and then each proxy of cfg.Targets in
// turn, and returns the report. Proxies that are not installed are skipped
// with a note. When ctx ends, Run stops what is running and returns the
// report so far with ctx's error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now().UTC(), Duration: cfg.Duration.String(), Warmup: cfg.Warmup.String(), Rate: cfg.Rate, Connections: cfg.Connections}
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

	rep.Targets = append(rep.Targets, measure(ctx, cfg, TargetDirect, up.Addr(), nil))
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
		p, err := l.launch(dir, up.Addr(), pin, cfg)
		if err != nil {
			var skip *errSkip
			if !errors.As(err, &skip) {
				err = fmt.Errorf("could not start: %w", err)
			}
			fmt.Fprintf(cfg.Progress, "%s: skipped: %v\n", l.name, err)
			rep.Targets = append(rep.Targets, Target{Name: l.name, Skipped: err.Error()})
			continue
		}
		t := func() Target {
			defer p.stop()
			if err := p.ready(ctx); err != nil {
				return Target{Name: l.name, Version: p.version, Skipped: err.Error()}
			}
			t := measure(ctx, cfg, l.name, p.addr, p)
			t.Version = p.version
			return t
		}()
		rep.Targets = append(rep.Targets, t)
	}
	rep.compare()
	return rep, ctx.Err()
}

// measure runs the warm-up and both phases against addr, reading the CPU
// time of p (nil for direct) around each phase.
func measure(ctx context.Context, cfg Config, name, addr string, p *process) (t Target) {
	t = Target{Name: name}
	url := "http://" + addr + "/bench"
	n := startNoise()
	defer func() { t.OtherCPU = n.cores() }()
	fmt.Fprintf(cfg.Progress, "%s: warm-up %s\n", name, cfg.Warmup)
	_ = fixedRate(ctx, url, cfg.Rate, cfg.Warmup/2)
	_ = closedLoop(ctx, addr, cfg.Connections, cfg.Warmup/2)

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
	fmt.Fprintf(cfg.Progress, "%s: %d req/s for %s\n", name, cfg.Rate, cfg.Duration)
	c0 := cpuOf()
	t.Rate = fixedRate(ctx, url, cfg.Rate, cfg.Duration)
	c1 := cpuOf()
	fmt.Fprintf(cfg.Progress, "%s: %d connections closed-loop for %s\n", name, cfg.Connections, cfg.Duration)
	t.Saturation = closedLoop(ctx, addr, cfg.Connections, cfg.Duration)
	c2 := cpuOf()
	if p != nil {
		t.Rate.cpu(c1.sub(c0))
		t.Saturation.cpu(c2.sub(c1))
	}
	return t
}
