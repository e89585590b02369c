package containers

import (
	"context"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
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
	// The ledger's /data is an anonymous volume (docker/Dockerfile): it
	// goes with its container.
	cli, err := dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	before, err := List(ctx, a)
	if err != nil || len(before) != 1 {
		t.Fatalf("run %s: %d containers, %v", a, len(before), err)
	}
	insp, err := cli.ContainerInspect(ctx, before[0].ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var volumes []string
	for _, m := range insp.Container.Mounts {
		if m.Type == mount.TypeVolume && m.Destination == "/data" {
			volumes = append(volumes, m.Name)
		}
	}
	if len(volumes) != 1 {
		t.Fatalf("the ledger's mounts %+v: want one volume at /data", insp.Container.Mounts)
	}
	rm, err := RemoveRun(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if rm != (Removed{Containers: 1, Networks: 1}) {
		t.Errorf("RemoveRun(%s) removed %+v, want one container and one network", a, rm)
	}
	if _, err := cli.VolumeInspect(ctx, volumes[0], client.VolumeInspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("the ledger's volume %s after RemoveRun: %v, want not found", volumes[0], err)
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
