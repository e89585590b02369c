package k8senv

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"
)

// TestControlPlane runs the whole life of a Deployment on the control
// plane: its pods scheduled across the zones' nodes and made Running and
// Ready by kwok, its deletion and its namespace's deletion completed by the
// real controllers, and Stop leaving no process behind.
func TestControlPlane(t *testing.T) {
	zones := []string{"zone-a", "zone-b", "zone-c"}
	env := StartForTest(t, Options{Zones: zones})
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The nodes: one per zone, labelled, with the large capacity.
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byZone := map[string]string{}
	for _, n := range nodes.Items {
		byZone[n.Labels[ZoneLabel]] = n.Name
		if got := n.Status.Allocatable.Pods().Value(); got != 250 {
			t.Errorf("node %s allocatable pods = %d, want 250", n.Name, got)
		}
	}
	if len(nodes.Items) != len(zones) || len(byZone) != len(zones) {
		t.Fatalf("nodes by zone = %v, want one in each of %v", byZone, zones)
	}

	// The kubeconfig file reaches the same API server.
	kc, err := clientcmd.BuildConfigFromFlags("", env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if kc.Host != env.Config.Host {
		t.Errorf("kubeconfig server %s, Config.Host %s", kc.Host, env.Config.Host)
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "k8senv-test"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := int32(6)
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns.Name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew:           1,
						TopologyKey:       ZoneLabel,
						WhenUnsatisfiable: corev1.DoNotSchedule,
						LabelSelector:     &metav1.LabelSelector{MatchLabels: labels},
					}},
					Containers: []corev1.Container{{
						Name:  "web",
						Image: "example.invalid/web:1",
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
							HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)},
						}},
					}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns.Name).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	untilObject(ctx, t, cs.AppsV1().RESTClient(), "deployments", ns.Name, "web", &appsv1.Deployment{}, func(obj runtime.Object) bool {
		d := obj.(*appsv1.Deployment)
		return d.Status.ObservedGeneration >= d.Generation && d.Status.ReadyReplicas == replicas && d.Status.AvailableReplicas == replicas
	})
	t.Logf("deployment of %d ready in %v", replicas, time.Since(start).Round(time.Millisecond))

	pods, err := cs.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	perNode := map[string]int{}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || !podReady(&p) {
			t.Errorf("pod %s: phase %s, ready %v", p.Name, p.Status.Phase, podReady(&p))
		}
		perNode[p.Spec.NodeName]++
	}
	for _, z := range zones {
		if perNode[byZone[z]] != int(replicas)/len(zones) {
			t.Errorf("pods per node %v: want %d in each zone", perNode, int(replicas)/len(zones))
		}
	}

	// Deletion completes: kwok's pod-delete stage finishes what the
	// garbage collector starts.
	fg := metav1.DeletePropagationForeground
	if err := cs.AppsV1().Deployments(ns.Name).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	untilGone(ctx, t, cs.AppsV1().RESTClient(), "deployments", ns.Name, "web", &appsv1.Deployment{})
	if left, err := cs.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{}); err != nil || len(left.Items) != 0 {
		t.Fatalf("after the deployment's foreground deletion: %d pods left, %v", len(left.Items), err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	untilGone(ctx, t, cs.CoreV1().RESTClient(), "namespaces", "", ns.Name, &corev1.Namespace{})

	pids := env.PIDs()
	if len(pids) != len(Binaries) {
		t.Errorf("PIDs = %v, want one per binary %v", pids, Binaries)
	}
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	for name, pid := range pids {
		// Reaped by Stop: the PID names no process (a PID reused this
		// soon would be a coincidence the kernel avoids).
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) after Stop: kill 0 = %v, want ESRCH", name, pid, err)
		}
	}
	if _, err := os.Stat(env.Dir); !os.IsNotExist(err) {
		t.Errorf("%s after Stop: %v, want it removed", env.Dir, err)
	}
}

// untilObject watches one object until cond holds, failing t on timeout
// with the object's last state.
func untilObject(ctx context.Context, t *testing.T, rc cache.Getter, resource, ns, name string, obj runtime.Object, cond func(runtime.Object) bool) {
	t.Helper()
	lw := cache.NewListWatchFromClient(rc, resource, ns, fields.OneTermEqualSelector("metadata.name", name))
	var last runtime.Object
	_, err := watchtools.UntilWithSync(ctx, lw, obj, nil, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			return false, errors.New("deleted")
		}
		last = ev.Object
		return cond(ev.Object), nil
	})
	if err != nil {
		t.Fatalf("%s %s/%s: %v; last seen: %+v", resource, ns, name, err, last)
	}
}

// untilGone waits until the object no longer exists.
func untilGone(ctx context.Context, t *testing.T, rc cache.Getter, resource, ns, name string, obj runtime.Object) {
	t.Helper()
	lw := cache.NewListWatchFromClient(rc, resource, ns, fields.OneTermEqualSelector("metadata.name", name))
	_, err := watchtools.UntilWithSync(ctx, lw, obj, func(store cache.Store) (bool, error) {
		return len(store.List()) == 0, nil
	}, func(ev watch.Event) (bool, error) {
		return ev.Type == watch.Deleted, nil
	})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("%s %s/%s still there: %v", resource, ns, name, err)
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
