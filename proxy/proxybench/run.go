package proxybench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
		} else if err := checkMiddleware(ctx, p.addr); err != nil {
			sl.t.Skipped = err.Error()
		}
	}
	for _, sl := range slots {
		if sl.t.Skipped == "" && ctx.Err() == nil {
			fmt.Fprintf(cfg.Progress, "%s: warm-up %s\n", sl.t.Name, cfg.Warmup)
			warmUp(ctx, cfg, sl.addr, sl.p != nil)
		}
	}
	tl := tools{wrk: lookTool("wrk"), h2load: lookTool("h2load")}
	switch {
	case cfg.NoTools:
		rep.Notes = append(rep.Notes, "wrk and h2load not run (--no-tools)")
	case tl.wrk == "" || tl.h2load == "":
		rep.Notes = append(rep.Notes, fmt.Sprintf("independent load generators: wrk %s, h2load %s (apt-get install wrk nghttp2-client)", found(tl.wrk), found(tl.h2load)))
	}
	for round := 1; round <= cfg.Rounds && ctx.Err() == nil; round++ {
		for _, sl := range slots {
			if sl.t.Skipped != "" || ctx.Err() != nil {
				continue
			}
			rd, other := measure(ctx, cfg, round, sl, pin, tl)
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
func warmUp(ctx context.Context, cfg Config, addr string, proxied bool) {
	_ = fixedRate(ctx, "http://"+addr+benchPath, cfg.Rate, cfg.Warmup/2)
	_ = closedLoop(ctx, addr, benchPath, "", cfg.Connections, cfg.Warmup/4)
	if proxied {
		_ = closedLoop(ctx, addr, mwBenchPath, mwHeaderLine, cfg.Connections, cfg.Warmup/4)
	}
}

// The paths the load asks for, and the middleware route's key header.
const (
	benchPath    = "/bench"
	mwBenchPath  = MiddlewarePath + "bench"
	mwHeaderLine = APIKeyHeader + ": " + BenchAPIKey + "\r\n"
	mwHeader     = APIKeyHeader + ": " + BenchAPIKey
)

// tools are the external load generators found installed.
type tools struct{ wrk, h2load string }

// measure runs one round's phases against a target, reading the CPU time
// of its process (nil for direct) around each, and returns them with the
// CPU, in cores, that other processes used meanwhile: the fixed rate and
// the saturation of the plain route with the bench's own clients, the
// saturation of the middleware route (proxies only), then wrk on both
// routes and h2load over h2c where installed and the target takes h2c.
func measure(ctx context.Context, cfg Config, round int, sl *slot, pin pinning, tl tools) (Round, float64) {
	var rd Round
	name, addr, p := sl.t.Name, sl.addr, sl.p
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
	// phase runs one phase and fills its CPU figures.
	phase := func(what string, run func() Phase) Phase {
		if ctx.Err() != nil {
			return Phase{}
		}
		fmt.Fprintf(cfg.Progress, "round %d/%d: %s: %s\n", round, cfg.Rounds, name, what)
		c0 := cpuOf()
		ph := run()
		if p != nil {
			ph.cpu(cpuOf().sub(c0))
		}
		return ph
	}
	// tool runs an external load generator's phase, or says why not.
	tool := func(what string, args []string, parse func(string) (Phase, error)) *Phase {
		ph := phase(what, func() Phase {
			out, err := runTool(ctx, pin, cfg.Duration, args)
			if err != nil {
				return Phase{Tool: filepath.Base(args[0]), firstError: err.Error(), Errors: 1}
			}
			ph, err := parse(out)
			if err != nil {
				ph.firstError, ph.Errors = err.Error(), max(ph.Errors, 1)
			}
			return ph
		})
		return &ph
	}
	proxied := p != nil
	rd.Rate = phase(fmt.Sprintf("%d req/s for %s", cfg.Rate, cfg.Duration), func() Phase {
		return fixedRate(ctx, "http://"+addr+benchPath, cfg.Rate, cfg.Duration)
	})
	rd.Saturation = phase(fmt.Sprintf("%d connections closed-loop for %s", cfg.Connections, cfg.Duration), func() Phase {
		return closedLoop(ctx, addr, benchPath, "", cfg.Connections, cfg.Duration)
	})
	if proxied {
		mw := phase(fmt.Sprintf("middleware route, %d connections closed-loop for %s", cfg.Connections, cfg.Duration), func() Phase {
			return closedLoop(ctx, addr, mwBenchPath, mwHeaderLine, cfg.Connections, cfg.Duration)
		})
		rd.Middleware = &mw
	}
	if tl.wrk != "" && !cfg.NoTools {
		rd.Wrk = tool("wrk", wrkArgs(tl.wrk, "http://"+addr+benchPath, cfg.Connections, cfg.Duration, nil), parseWrk)
		if proxied {
			rd.WrkMiddleware = tool("wrk, middleware route", wrkArgs(tl.wrk, "http://"+addr+mwBenchPath, cfg.Connections, cfg.Duration, []string{mwHeader}), parseWrk)
		}
	}
	if tl.h2load != "" && !cfg.NoTools && p != nil && p.h2addr != "" {
		rd.H2load = tool("h2load (h2c)", h2loadArgs(tl.h2load, "http://"+p.h2addr+benchPath, cfg.Connections, cfg.Duration, nil), parseH2load)
	}
	return rd, n.cores()
}

func found(bin string) string {
	if bin == "" {
		return "not installed"
	}
	return "installed"
}

// checkMiddleware makes sure the middleware route of a proxy is what it
// claims: a request without the key is refused, one with it answered.
func checkMiddleware(ctx context.Context, addr string) error {
	for _, c := range []struct {
		hdrs string
		want bool
	}{{"", false}, {mwHeaderLine, true}} {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		lc, err := dialLoop(pctx, addr)
		if err != nil {
			cancel()
			return err
		}
		ok, _, err := lc.roundTrip([]byte("GET " + mwBenchPath + " HTTP/1.1\r\nHost: " + addr + "\r\n" + c.hdrs + "\r\n"))
		lc.Close()
		cancel()
		switch {
		case err != nil:
			return fmt.Errorf("middleware route: %w", err)
		case ok != c.want && c.want:
			return fmt.Errorf("middleware route: a request with the API key was refused")
		case ok != c.want:
			return fmt.Errorf("middleware route: a request without the API key was answered 2xx")
		}
	}
	return nil
}
