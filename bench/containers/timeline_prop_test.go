package containers

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/meshbench/meshbench/scenarios"
)

// TestTimelineProperties checks, for random faults, that the steps are in
// time order and inside the timeline, and that every fault that ends
// before the end of the run is undone on every replica it touched.
func TestTimelineProperties(t *testing.T) {
	plan := libraryPlan(t, "replica-crash")
	f := paperFleet(t, plan)
	undo := map[Op]Op{OpKill: OpStart, OpPause: OpUnpause, OpStop: OpStart, OpSetFault: OpSetFault}
	rapid.Check(t, func(rt *rapid.T) {
		p := *plan
		p.Faults = nil
		n := rapid.IntRange(1, 6).Draw(rt, "faults")
		for i := range n {
			svc := rapid.SampledFrom([]string{"payments", "risk", "fraud", "ledger"}).Draw(rt, fmt.Sprint("service", i))
			tg, err := scenarios.ParseTarget(fmt.Sprintf("%s[%d]", svc, rapid.IntRange(0, 1).Draw(rt, fmt.Sprint("replica", i))))
			if err != nil {
				rt.Fatal(err)
			}
			p.Faults = append(p.Faults, scenarios.Fault{
				At:       time.Duration(rapid.IntRange(0, 100).Draw(rt, fmt.Sprint("at", i))) * time.Second,
				For:      time.Duration(rapid.IntRange(0, 30).Draw(rt, fmt.Sprint("for", i))) * time.Second,
				Downtime: time.Duration(rapid.IntRange(0, 10).Draw(rt, fmt.Sprint("downtime", i))) * time.Second,
				Action:   rapid.SampledFrom([]string{"kill", "pause", "restart", "slow"}).Draw(rt, fmt.Sprint("action", i)),
				Factor:   3,
				Target:   tg,
			})
		}
		steps, err := Timeline(&p, f)
		if err != nil {
			rt.Fatal(err)
		}
		for i, s := range steps {
			if s.At >= p.Duration {
				rt.Fatalf("step %d at %v, past the end %v", i, s.At, p.Duration)
			}
			if i > 0 && s.At < steps[i-1].At {
				rt.Fatalf("step %d at %v before step %d at %v", i, s.At, i-1, steps[i-1].At)
			}
		}
		for fi, ft := range p.Faults {
			end := ft.At + ft.For
			if ft.Action == scenarios.ActionRestart {
				end = ft.At + ft.Downtime
			}
			if ft.At >= p.Duration || end >= p.Duration || (ft.Action != scenarios.ActionRestart && ft.For == 0) ||
				(ft.Action == scenarios.ActionRestart && ft.Downtime == 0) {
				continue
			}
			var began, ended int
			var first Op
			for _, s := range steps {
				if s.Fault != fi {
					continue
				}
				switch s.At {
				case ft.At:
					began++
					first = s.Op
				case end:
					ended++
					if s.Op != undo[first] {
						rt.Fatalf("fault %d begins with %s and ends with %s", fi, first, s.Op)
					}
					if s.Op == OpSetFault && string(s.Patch) != `{"slow":null}` {
						rt.Fatalf("fault %d ends with %s", fi, s.Patch)
					}
				}
			}
			if began != 1 || ended != 1 {
				rt.Fatalf("fault %d (%s %s at %v): %d start and %d end steps, want one each", fi, ft.Action, ft.Target, ft.At, began, ended)
			}
		}
	})
}
