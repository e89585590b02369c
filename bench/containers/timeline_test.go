package containers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// paperFleet is a fleet that was never started: replicas only, enough for
// target resolution and timelines.
func paperFleet(t *testing.T, plan *scenarios.Plan) *Fleet {
	t.Helper()
	spec, err := SpecFromPlan(plan, 1)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fleet{}
	for _, rs := range spec.Replicas {
		f.Replicas = append(f.Replicas, &Replica{ReplicaSpec: rs})
	}
	return f
}

func target(t *testing.T, s string) scenarios.Target {
	t.Helper()
	tg, err := scenarios.ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// render writes steps as "at op replica [patch]" lines.
func render(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		if s.Replica == nil {
			fmt.Fprintf(&b, "%v %s fault %d\n", s.At, s.Op, s.Fault)
			continue
		}
		fmt.Fprintf(&b, "%v %s %s", s.At, s.Op, s.Replica.Name())
		if s.Patch != nil {
			fmt.Fprintf(&b, " %s", s.Patch)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestTimeline(t *testing.T) {
	lat := scenarios.Constant(20 * time.Millisecond)
	for _, c := range []struct {
		name   string
		faults []scenarios.Fault
		want   string
	}{
		{"kill with for restarts", []scenarios.Fault{{At: time.Second, For: 2 * time.Second, Action: "kill", Target: target(t, "payments[1]")}},
			"1s kill payments[1]\n3s start payments[1]\n"},
		{"kill without for stays down", []scenarios.Fault{{At: time.Second, Action: "kill", Target: target(t, "ledger[0]")}},
			"1s kill ledger[0]\n"},
		{"pause a whole service", []scenarios.Fault{{At: 0, For: time.Second, Action: "pause", Target: target(t, "risk")}},
			"0s pause risk[0]\n0s pause risk[1]\n1s unpause risk[0]\n1s unpause risk[1]\n"},
		{"restart with downtime", []scenarios.Fault{{At: time.Second, Action: "restart", Downtime: 500 * time.Millisecond, Target: target(t, "fraud[0]")}},
			"1s stop fraud[0]\n1.5s start fraud[0]\n"},
		{"restart without downtime", []scenarios.Fault{{At: time.Second, Action: "restart", Target: target(t, "fraud[1]")}},
			"1s restart fraud[1]\n"},
		{"slow", []scenarios.Fault{{At: time.Second, For: time.Second, Action: "slow", Factor: 10, Target: target(t, "payments[2]")}},
			"1s set-fault payments[2] {\"slow\":10}\n2s set-fault payments[2] {\"slow\":null}\n"},
		{"errors default to 503", []scenarios.Fault{{At: 0, For: time.Second, Action: "errors", Rate: 0.5, Target: target(t, "risk[0]")}},
			"0s set-fault risk[0] {\"errorRate\":0.5,\"errorStatus\":503}\n1s set-fault risk[0] {\"errorRate\":null,\"errorStatus\":null}\n"},
		{"latency", []scenarios.Fault{{At: 0, For: time.Second, Action: "latency", Add: &lat, Target: target(t, "ledger[1]")}},
			"0s set-fault ledger[1] {\"latency\":\"20ms\"}\n1s set-fault ledger[1] {\"latency\":null}\n"},
		{"an end comes before a start at the same time", []scenarios.Fault{
			{At: 2 * time.Second, For: time.Second, Action: "pause", Target: target(t, "payments[0]")},
			{At: time.Second, For: time.Second, Action: "kill", Target: target(t, "payments[0]")},
		}, "1s kill payments[0]\n2s start payments[0]\n2s pause payments[0]\n3s unpause payments[0]\n"},
		{"zone target", []scenarios.Fault{{At: 0, Action: "kill", Target: target(t, "zone:a")}},
			"0s kill payments[0]\n0s kill payments[1]\n0s kill payments[2]\n0s kill payments[3]\n0s kill risk[0]\n0s kill risk[1]\n0s kill fraud[0]\n0s kill fraud[1]\n0s kill ledger[0]\n0s kill ledger[1]\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := libraryPlan(t, "replica-crash")
			plan.Faults = c.faults
			steps, err := Timeline(plan, paperFleet(t, plan))
			if err != nil {
				t.Fatal(err)
			}
			if got := render(steps); got != c.want {
				t.Errorf("timeline:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestTimelineRefuses(t *testing.T) {
	for _, c := range []struct {
		name  string
		fault scenarios.Fault
		want  string
	}{
		{"partition without a data plane", scenarios.Fault{Action: "partition", Target: target(t, "payments"), Peer: ptr(target(t, "ledger"))}, "no data plane to partition"},
		{"a target beyond the fleet", scenarios.Fault{Action: "kill", Target: target(t, "payments[9]")}, "matches no replica"},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := libraryPlan(t, "replica-crash")
			plan.Faults = []scenarios.Fault{c.fault}
			_, err := Timeline(plan, paperFleet(t, plan))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestTimelineStopsAtTheEnd(t *testing.T) {
	plan := libraryPlan(t, "replica-crash")
	plan.Faults = []scenarios.Fault{{At: plan.Duration - time.Second, For: time.Minute, Action: "pause", Target: target(t, "risk[1]")}}
	steps, err := Timeline(plan, paperFleet(t, plan))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := render(steps), "1m29s pause risk[1]\n"; got != want {
		t.Errorf("timeline %q, want %q: the unpause is past the end", got, want)
	}
}

// fakePartitions records which partition faults were cut and restored.
type fakePartitions struct{ log []string }

func (p *fakePartitions) Partition(fault int) (cut, restore func() error, err error) {
	return func() error { p.log = append(p.log, fmt.Sprintf("cut %d", fault)); return nil },
		func() error { p.log = append(p.log, fmt.Sprintf("restore %d", fault)); return nil }, nil
}

// TestTimelinePartition: a partition is two steps on the data plane's
// network, the cut at at and the restore at at+for, which Apply runs.
func TestTimelinePartition(t *testing.T) {
	plan := libraryPlan(t, "replica-crash")
	plan.Faults = []scenarios.Fault{
		{At: time.Second, Action: "kill", Target: target(t, "risk[0]")},
		{At: time.Second, For: 2 * time.Second, Action: "partition", Target: target(t, "payments"), Peer: ptr(target(t, "ledger"))},
	}
	f := paperFleet(t, plan)
	parts := &fakePartitions{}
	f.Partitions = parts
	steps, err := Timeline(plan, f)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := render(steps), "1s kill risk[0]\n1s cut fault 1\n3s restore fault 1\n"; got != want {
		t.Fatalf("timeline:\n%s\nwant:\n%s", got, want)
	}
	for _, s := range steps[1:] {
		if err := f.Apply(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(parts.log, ", "); got != "cut 1, restore 1" {
		t.Errorf("data plane saw %q, want the cut then the restore", got)
	}
}
