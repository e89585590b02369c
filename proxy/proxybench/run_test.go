package proxybench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRunShort runs the whole bench briefly, unpinned, with the test
// binary standing in for meshbench: every installed target is measured
// without errors, the others are skipped with a reason, and the report
// prints and encodes. It checks what was measured, never how fast.
func TestRunShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts proxy processes")
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Config{
		Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, Rate: 200, Connections: 4,
		MeshbenchCommand: childCommand, Progress: &progress,
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	if len(rep.Targets) != len(AllTargets) {
		t.Fatalf("%d targets, want %d", len(rep.Targets), len(AllTargets))
	}
	for i, tg := range rep.Targets {
		if tg.Name != AllTargets[i] {
			t.Errorf("target %d is %s, want %s", i, tg.Name, AllTargets[i])
		}
		if tg.Skipped != "" {
			if tg.Name == TargetDirect || tg.Name == TargetMeshbench {
				t.Errorf("%s skipped: %s", tg.Name, tg.Skipped)
			}
			continue
		}
		for _, ph := range []Phase{tg.Rate, tg.Saturation} {
			if ph.Requests == 0 || ph.Errors != 0 || ph.Throughput <= 0 || ph.P50Ms <= 0 || ph.P99Ms < ph.P50Ms {
				t.Errorf("%s: phase %+v", tg.Name, ph)
			}
		}
		if tg.Name != TargetDirect && (tg.Saturation.CPUSeconds < 0 || tg.ThroughputRatio <= 0) {
			t.Errorf("%s: cpu %v ratio %v", tg.Name, tg.Saturation.CPUSeconds, tg.ThroughputRatio)
		}
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"direct", "meshbench", "× direct", "CPU µs/req", "target: meshbench added p99"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Targets) != len(rep.Targets) {
		t.Fatalf("JSON round trip: %v", err)
	}
}

func TestConfigDefaultsAndErrors(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil || c.Duration != DefaultDuration || c.Rate != DefaultRate || c.Connections != DefaultConnections || len(c.Targets) != len(AllTargets) {
		t.Fatalf("defaults %+v %v", c, err)
	}
	for _, bad := range []Config{{Connections: -1}, {Targets: []string{"envoy"}}, {Duration: -time.Second}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestBurstPacer(t *testing.T) {
	p := burstPacer{rate: 5000, slack: time.Millisecond}
	for _, tc := range []struct {
		elapsed time.Duration
		hits    uint64
		wait    time.Duration
	}{
		{0, 0, 0},
		{0, 5, 0},                             // hit 5 is due at 1ms: within the slack
		{0, 10, time.Millisecond},             // due at 2ms, may leave at 1ms
		{3 * time.Millisecond, 10, 0},         // late: at once
		{time.Second, 5000, 0},                // on time
		{time.Second, 5010, time.Millisecond}, // ahead by 2ms
	} {
		if wait, stop := p.Pace(tc.elapsed, tc.hits); wait != tc.wait || stop {
			t.Errorf("Pace(%v, %d) = %v %v, want %v", tc.elapsed, tc.hits, wait, stop, tc.wait)
		}
	}
}
