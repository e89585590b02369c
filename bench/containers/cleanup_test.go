package containers

import (
	"context"
	"strings"
	"testing"
	"time"
)

// oneLedger is a fleet of a single ledger replica.
func oneLedger(t *testing.T, run string) Spec {
	return Spec{RunID: run, Image: testImage(t), Replicas: []ReplicaSpec{{Service: "ledger", Env: map[string]string{"PAYMENTSVC_ROLE": "ledger"}}}}
}

func TestRemoveRunRemovesOnlyItsRun(t *testing.T) {
	requireDocker(t)
	t.Parallel() // the Docker tests mostly wait on the daemon
	ctx := context.Background()
	a, b := "test-"+NewRunID(), "test-"+NewRunID()
	for _, run := range []string{a, b} {
		f, err := StartFleet(ctx, oneLedger(t, run))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Detach(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = RemoveRun(context.Background(), run) })
	}
	rm, err := RemoveRun(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if rm != (Removed{Containers: 1, Networks: 1}) {
		t.Errorf("RemoveRun(%s) removed %+v, want one container and one network", a, rm)
	}
	for run, want := range map[string]int{a: 0, b: 1} {
		list, err := List(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != want {
			t.Errorf("run %s: %d containers, want %d", run, len(list), want)
		}
		for _, s := range list {
			if s.Health() != "ready" || s.Name != "ledger[0]" || !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
				t.Errorf("status %+v: want ledger[0] ready on 127.0.0.1", s)
			}
		}
	}
	if rm, err := RemoveRun(ctx, b); err != nil || rm.Containers != 1 {
		t.Errorf("RemoveRun(%s) = %+v, %v", b, rm, err)
	}
}

func TestFailedStartLeavesNothing(t *testing.T) {
	requireDocker(t)
	t.Parallel() // the Docker tests mostly wait on the daemon
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := "test-" + NewRunID()
	spec := oneLedger(t, run)
	spec.Replicas = append(spec.Replicas, ReplicaSpec{Service: "risk", Env: map[string]string{"PAYMENTSVC_ROLE": "auditor"}})
	f, err := StartFleet(ctx, spec)
	if err == nil {
		_ = f.Close()
		t.Fatal("a replica with an unknown role started")
	}
	// The error names the replica and carries the container's own words.
	if !strings.Contains(err.Error(), "risk[0]") || !strings.Contains(err.Error(), "unknown role") {
		t.Errorf("error %q does not say which replica failed and why", err)
	}
	list, lerr := List(ctx, run)
	if lerr != nil || len(list) > 0 {
		t.Errorf("after a failed start: %d containers of the run left (%v)", len(list), lerr)
	}
}
