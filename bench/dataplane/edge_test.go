package dataplane

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/fault"
	"github.com/meshbench/meshbench/scenarios"
)

func TestRouteCache(t *testing.T) {
	c := RouteCache(&scenarios.RouteCache{Routes: []string{"status"}, TTL: 30 * time.Second, MaxEntries: 500})
	if c.DefaultTTL != 30*time.Second || c.MaxEntries != 500 || c.StatusHeader != HeaderCache {
		t.Errorf("cache config %+v", c)
	}
}

// TestRouteFault checks the translation of an abort and a delay into the
// fault filter's config, and that the filter draws the delay from the
// fault's distribution.
func TestRouteFault(t *testing.T) {
	target := scenarios.Target{Route: "status", Replica: scenarios.AllReplicas}
	d := scenarios.Constant(40 * time.Millisecond)
	abort := &scenarios.Fault{Action: scenarios.ActionAbort, Target: target, Status: 503, Percentage: 10}
	delay := &scenarios.Fault{Action: scenarios.ActionDelay, Target: target, Delay: &d, Percentage: 100}
	cfg, err := RouteFault(abort, delay)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Abort == nil || cfg.Abort.Status != 503 || cfg.Abort.Percentage != 10 || cfg.Delay == nil || cfg.Delay.Percentage != 100 {
		t.Fatalf("config %+v", cfg)
	}
	f, err := fault.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if dec := f.Decide(rand.New(rand.NewPCG(3, 4))); dec.Delay != 40*time.Millisecond {
		t.Errorf("decision %+v, want the 40ms delay", dec)
	}
	if cfg, err := RouteFault(nil, nil); err != nil || cfg.Abort != nil || cfg.Delay != nil {
		t.Errorf("no faults: %+v %v", cfg, err)
	}
}
