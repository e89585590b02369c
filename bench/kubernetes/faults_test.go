package kubernetes

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

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

func fleetPod(name, service, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{LabelRun: "r", LabelService: service}}, Spec: corev1.PodSpec{NodeName: node}}
}

func TestFaulterResolvesTargetsAndScalesBack(t *testing.T) {
	ctx := t.Context()
	replicas := int32(3)
	cs := fake.NewClientset(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n-a", Labels: map[string]string{ZoneLabel: "a"}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n-b", Labels: map[string]string{ZoneLabel: "b"}}},
		fleetPod("risk-2", "risk", "n-b"), fleetPod("risk-1", "risk", "n-a"), fleetPod("risk-3", "risk", "n-a"),
		fleetPod("ledger-1", "ledger", "n-b"),
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "risk", Namespace: "ns"}, Spec: appsv1.DeploymentSpec{Replicas: &replicas}},
	)
	// The fake clientset has no scale subresource of its own.
	cs.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		return true, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "risk", Namespace: "ns"}, Spec: autoscalingv1.ScaleSpec{Replicas: replicas}}, nil
	})
	cs.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		sc := a.(k8stesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		replicas = sc.Spec.Replicas
		return true, sc, nil
	})
	f := newFaulter(cs, "ns", "r", unreachable{}, []string{"risk", "ledger"})

	names := func(t scenarios.Target) string {
		pods, err := f.Targets(ctx, t)
		if err != nil {
			return err.Error()
		}
		var out []string
		for _, p := range pods {
			out = append(out, p.Name)
		}
		return strings.Join(out, ",")
	}
	for target, want := range map[scenarios.Target]string{
		{Service: "risk", Replica: 1}:                     "risk-2", // the pods by name
		{Service: "risk", Replica: scenarios.AllReplicas}: "risk-1,risk-2,risk-3",
		{Zone: "b"}:                   "risk-2,ledger-1",
		{Service: "risk", Replica: 5}: "target risk[5]: the service has 3 pods",
		{Zone: "c"}:                   "target zone:c: no pod runs on a node of that zone",
	} {
		if got := names(target); got != want {
			t.Errorf("%s: %q, want %q", target, got, want)
		}
	}

	// A kill of two pods for a while: marked, scaled down by two and
	// deleted; then scaled back up by two.
	if err := f.Apply(ctx, Step{Op: OpScaleDown, Fault: 3, Kill: true, Target: scenarios.Target{Zone: "a"}}); err != nil {
		t.Fatal(err)
	}
	if replicas != 1 {
		t.Errorf("replicas %d after the scale-down, want 1", replicas)
	}
	left, err := cs.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Items) != 2 {
		t.Errorf("%d pods left, want 2 (the zone's two killed)", len(left.Items))
	}
	if err := f.Apply(ctx, Step{Op: OpScaleUp, Fault: 3}); err != nil {
		t.Fatal(err)
	}
	if replicas != 3 {
		t.Errorf("replicas %d after the scale-up, want 3", replicas)
	}
	// A behaviour fault goes through the dialer, which says why it could
	// not reach the pod.
	err = f.Apply(ctx, Step{Op: OpSetFault, Patch: hangOn, Target: scenarios.Target{Service: "ledger", Replica: 0}})
	if err == nil || !strings.Contains(err.Error(), "set fault on ledger-1") {
		t.Errorf("got %v", err)
	}
}
