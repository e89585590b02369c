package kubernetes

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

func TestTimelineMapsFaultsToAPIOperations(t *testing.T) {
	plan := loadPlan(t, strings.Replace(e2eScenario, "faults:\n", `faults:
  - {at: 500ms, for: 1s, action: pause, target: "ledger[0]"}
  - {at: 3s, action: kill, target: "risk[1]"}
  - {at: 1s, action: restart, target: "payments[0]", downtime: 500ms}
  - {at: 1s, for: 1s, action: errors, target: "zone:zone-b", rate: 0.5}
`, 1))
	steps, err := Timeline(plan)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		line := fmt.Sprintf("%v %s %s", s.At, s.Op, s.Target)
		if s.Kill {
			line += " kill"
		}
		if s.Patch != nil {
			line += " " + string(s.Patch)
		}
		got = append(got, line)
	}
	want := []string{
		`500ms set-fault ledger[0] {"hang":true}`,
		// At equal times the ends come first, then the starts, in the
		// plan's order of the faults.
		`1s scale-down payments[0]`,
		`1s set-fault zone:zone-b {"errorRate":0.5,"errorStatus":503}`,
		`1s set-fault risk[0] {"slow":2}`,
		`1s scale-down payments[1] kill`,
		`1.5s set-fault ledger[0] {"hang":null}`,
		`1.5s scale-up payments[0]`,
		`2s set-fault zone:zone-b {"errorRate":null,"errorStatus":null}`,
		`2s set-fault risk[0] {"slow":null}`,
		`2s delete fraud[0]`,
		`3s scale-up payments[1]`,
		`3s delete risk[1] kill`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTimelineLeavesOutWhatIsPastTheEnd(t *testing.T) {
	plan := loadPlan(t, e2eScenario)
	plan.Faults = append(plan.Faults, scenarios.Fault{At: 3 * time.Second, For: 5 * time.Second, Action: scenarios.ActionSlow, Factor: 3, Target: scenarios.Target{Service: "risk", Replica: 1}})
	steps, err := Timeline(plan)
	if err != nil {
		t.Fatal(err)
	}
	last := steps[len(steps)-1]
	if last.At != 3*time.Second || string(last.Patch) != `{"slow":3}` {
		t.Errorf("last step %+v: the clear at 8s is past the end (4s), for the heal", last)
	}
}

func TestTimelineRefusesPartitions(t *testing.T) {
	plan := loadPlan(t, e2eScenario)
	plan.Faults = append(plan.Faults, scenarios.Fault{At: time.Second, For: time.Second, Action: scenarios.ActionPartition, Target: scenarios.Target{Service: "risk", Replica: scenarios.AllReplicas}})
	if _, err := Timeline(plan); err == nil || !strings.Contains(err.Error(), "partition is not available on kubernetes") {
		t.Fatalf("got %v", err)
	}
}
