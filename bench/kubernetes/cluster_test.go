package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// rolledOut marks d as a Deployment controller would once every replica
// is available.
func rolledOut(d *appsv1.Deployment) *appsv1.Deployment {
	c := d.DeepCopy()
	n := *c.Spec.Replicas
	c.Generation = 1
	c.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
	return c
}

func TestApplyCreatesEveryObjectAndWaitReadySeesThemRollOut(t *testing.T) {
	m := renderOf(t, library(t, "balancer-brownout"), 0)
	cs := fake.NewClientset()
	ctx := t.Context()
	if err := Apply(ctx, cs, m); err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, cs, m); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second apply: %v", err)
	}
	var names []string
	for _, d := range m.Deployments {
		names = append(names, d.Name)
		if _, err := cs.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, rolledOut(d), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := WaitReady(ctx, cs, m.Namespace.Name, names, time.Minute); err != nil {
		t.Fatal(err)
	}
	left, err := Remaining(ctx, cs, m.Namespace.Name)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(m.ConfigMaps) + len(m.Services) + len(m.Deployments); len(left) != want {
		t.Fatalf("%d objects, want %d: %v", len(left), want, left)
	}
}

func TestWaitReadySaysWhyADeploymentIsNotReady(t *testing.T) {
	m := renderOf(t, library(t, "balancer-brownout"), 0)
	ns := m.Namespace.Name
	cs := fake.NewClientset()
	ctx := t.Context()
	if err := Apply(ctx, cs, m); err != nil {
		t.Fatal(err)
	}
	d := deployment(m, "risk")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "risk-abc", Namespace: ns, Labels: d.Spec.Selector.MatchLabels},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
			Message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
		}}},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "risk-abc.1", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "risk-abc"},
		Type:           corev1.EventTypeWarning, Reason: "FailedScheduling", Message: "0/3 nodes are available",
	}
	if _, err := cs.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := WaitReady(ctx, cs, ns, []string{"risk"}, 50*time.Millisecond)
	if err == nil {
		t.Fatal("a deployment that never rolls out was ready")
	}
	for _, want := range []string{"not ready after 50ms", "deployment risk: 0/", "pod risk-abc: not scheduled (Unschedulable: 0/3 nodes are available", "FailedScheduling pod/risk-abc"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestWaitReadyStopsWhenCancelled(t *testing.T) {
	cs := fake.NewClientset()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := WaitReady(ctx, cs, "ns", []string{"x"}, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestDeleteNamespaceWaitsUntilGone(t *testing.T) {
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "run"}})
	if err := DeleteNamespace(t.Context(), cs, "run", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := DeleteNamespace(t.Context(), cs, "run", time.Minute); err != nil {
		t.Fatalf("a namespace already gone: %v", err)
	}
}

func TestDeleteNamespaceNamesWhatIsStuck(t *testing.T) {
	ns := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "run"},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating, Conditions: []corev1.NamespaceCondition{{
			Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, Reason: "SomeFinalizersRemain",
			Message: "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances",
		}}},
	}
	held := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: "run", Finalizers: []string{"example.com/hold"}}}
	cs := fake.NewClientset(ns, held)
	// The API server marks a namespace with content terminating; it does
	// not go away while a finalizer holds an object in it.
	cs.PrependReactor("delete", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, nil
	})
	err := DeleteNamespace(t.Context(), cs, "run", 50*time.Millisecond)
	if err == nil {
		t.Fatal("a stuck namespace was deleted")
	}
	for _, want := range []string{"namespace run still terminating after 50ms", "example.com/hold in 1 resource instances", "configmap/held (finalizers [example.com/hold])"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestAPIErrorsAreReturnedWithTheObject(t *testing.T) {
	m := renderOf(t, library(t, "balancer-brownout"), 0)
	cs := fake.NewClientset()
	cs.PrependReactor("create", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("admission webhook denied the request")
	})
	err := Apply(t.Context(), cs, m)
	if err == nil || !strings.Contains(err.Error(), "create deployment meshbench-test/") || !strings.Contains(err.Error(), "admission webhook denied") {
		t.Fatalf("got %v", err)
	}
}
