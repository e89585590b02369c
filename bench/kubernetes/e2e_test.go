package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/kubernetes/kubetest"
	"github.com/meshbench/meshbench/internal/k8senv"
	"github.com/meshbench/meshbench/scenarios"
)

// The tests in this file run the backend against a real control plane
// (internal/k8senv: etcd, kube-apiserver, controller manager, scheduler,
// kwok's nodes). kwok's pods run no containers, so what the pods would
// serve runs in this process on loopback (bench/kubernetes/kubetest): the
// fleet's replicas behind local.StartMesh's gateway and sidecars, and the
// load agents, with each pod mapped to one of them.

// e2eScenario is kubetest.Scenario: a small fleet, a short load and a
// fault of each kind the backend maps to API operations.
const e2eScenario = kubetest.Scenario

func loadPlan(t *testing.T, src string) *scenarios.Plan {
	t.Helper()
	plan, err := scenarios.LoadBytes("k8s-e2e.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// testLayout tells kubetest how this package labels and serves its pods.
var testLayout = kubetest.Layout{ServiceLabel: LabelService, AgentService: AgentName, AgentPort: AgentPort, AppPort: AppPort}

func clientset(t *testing.T, env *k8senv.Env) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// assertGone checks that the run's namespace and everything in it are gone.
func assertGone(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s after the run: %v", ns, err)
	}
	left, err := Remaining(ctx, cs, ns)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("left in %s after the run: %v", ns, left)
	}
}

// TestAgainstARealControlPlane shares one control plane between its
// subtests: it takes seconds to start and half a gigabyte to run.
func TestAgainstARealControlPlane(t *testing.T) {
	env := k8senv.StartForTest(t, k8senv.Options{})
	t.Run("dry run accepted", func(t *testing.T) { testDryRun(t, env) })
	t.Run("API error", func(t *testing.T) { testAPIError(t, env) })
	t.Run("deployment never ready", func(t *testing.T) { testNeverReady(t, env) })
	t.Run("namespace stuck terminating", func(t *testing.T) { testStuckNamespace(t, env) })
	t.Run("interrupted", func(t *testing.T) { testInterrupted(t, env) })
	t.Run("run", func(t *testing.T) {
		if testing.Short() {
			t.Skip("runs a scenario for several seconds")
		}
		testRun(t, env)
	})
}

// testDryRun sends every object that --dry-run prints to the API server
// with server-side dry run: admitted and validated, nothing stored.
func testDryRun(t *testing.T, env *k8senv.Env) {
	cs := clientset(t, env)
	for _, name := range []string{"balancer-brownout", "zone-failure", "retry-storm", "grpc-vs-http", "gateway-burst", "cache-offload", "jwt-edge", "tenant-fairness", "mtls-cost"} {
		plan := library(t, name)
		accepted := 0
		for i := range plan.Variants {
			if len(issues(plan.ForVariant(i), i)) > 0 {
				continue // refused before anything is rendered
			}
			accepted++
			b := &Backend{}
			m, err := Render(plan.ForVariant(i), i, plan.Seed, b.RenderOptions("dryrun"))
			if err != nil {
				t.Fatalf("%s/%d: %v", name, i, err)
			}
			// Through the printed YAML, as a user would send it.
			var buf bytes.Buffer
			if err := m.WriteYAML(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := readYAML(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if err := DryRun(t.Context(), cs, back, "default"); err != nil {
				t.Errorf("%s variant %s: %v", name, plan.Variants[i].Name, err)
			}
		}
		if accepted == 0 {
			t.Errorf("%s: every variant refused", name)
		}
	}
	if _, err := cs.CoreV1().Namespaces().Get(t.Context(), "meshbench-dryrun", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dry run stored its namespace: %v", err)
	}
}

// testAPIError: the API server refuses the run's namespace (an invalid
// name); the run says so and leaves nothing.
func testAPIError(t *testing.T, env *k8senv.Env) {
	cs := clientset(t, env)
	b := &Backend{Options: Options{NamespacePrefix: "Not_A_Name"}, Clientset: cs, Config: env.Config, Dialer: unreachable{}, Load: noLoad, RunID: "x"}
	plan := library(t, "balancer-brownout")
	_, err := b.Run(t.Context(), bench.Job{Plan: plan.ForVariant(0), Seed: 1}, bench.NewAggregator(0, time.Second))
	if err == nil || !strings.Contains(err.Error(), "create namespace Not_A_Name-x") || !strings.Contains(err.Error(), "Invalid value") {
		t.Fatalf("got %v", err)
	}
	// A namespace that exists already is not the run's: refused, kept.
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "meshbench-taken"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b = &Backend{Clientset: cs, Config: env.Config, Dialer: unreachable{}, Load: noLoad, RunID: "taken"}
	_, err = b.Run(t.Context(), bench.Job{Plan: plan.ForVariant(0), Seed: 1}, bench.NewAggregator(0, time.Second))
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("got %v", err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(t.Context(), "meshbench-taken", metav1.GetOptions{}); err != nil {
		t.Errorf("the existing namespace: %v", err)
	}
}

// testNeverReady: a service bound to a zone no node is in never gets
// scheduled; the run says which Deployment, and the scheduler's reason,
// and removes everything.
func testNeverReady(t *testing.T, env *k8senv.Env) {
	cs := clientset(t, env)
	src := strings.Replace(e2eScenario, "      zone: zone-b\nload:", "      zone: zone-nowhere\nload:", 1)
	if src == e2eScenario {
		t.Fatal("the scenario did not change")
	}
	plan := loadPlan(t, src)
	b := &Backend{Options: Options{ReadyTimeout: 5 * time.Second}, Clientset: cs, Config: env.Config, Dialer: unreachable{}, Load: noLoad, RunID: "never"}
	_, err := b.Run(t.Context(), bench.Job{Plan: plan.ForVariant(0), Seed: 1}, bench.NewAggregator(0, time.Second))
	if err == nil {
		t.Fatal("the run went ahead")
	}
	for _, want := range []string{"not ready after 5s", "deployment ledger: 0/1 ready", "not scheduled (Unschedulable", "node affinity"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	assertGone(t, cs, b.RenderOptions("never").Namespace)
}

// testStuckNamespace: an object held by a finalizer keeps the namespace
// terminating; deletion times out naming it, and completes once the
// finalizer is gone.
func testStuckNamespace(t *testing.T, env *k8senv.Env) {
	cs := clientset(t, env)
	ctx := t.Context()
	const ns = "meshbench-stuck"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	held := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: ns, Finalizers: []string{"meshbench.dev/test-hold"}}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := DeleteNamespace(ctx, cs, ns, 5*time.Second)
	if err == nil {
		t.Fatal("a namespace held by a finalizer was deleted")
	}
	for _, want := range []string{"namespace meshbench-stuck still terminating after 5s", "configmap/held (finalizers [meshbench.dev/test-hold])"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	if _, err := cs.CoreV1().ConfigMaps(ns).Patch(ctx, "held", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := DeleteNamespace(ctx, cs, ns, time.Minute); err != nil {
		t.Fatal(err)
	}
	assertGone(t, cs, ns)
}

// testInterrupted: Ctrl-C during the load ends the run with the
// context's error, and the namespace is deleted all the same.
func testInterrupted(t *testing.T, env *k8senv.Env) {
	cs := clientset(t, env)
	plan := loadPlan(t, e2eScenario)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	interrupt := func(ctx context.Context, agents []Agent, _ LoadRequest, _ bench.Sink, _ func(time.Duration)) (LoadResult, error) {
		if len(agents) != 2 {
			t.Errorf("%d agents, want 2", len(agents))
		}
		cancel() // as Ctrl-C does to the run's context
		<-ctx.Done()
		return LoadResult{}, ctx.Err()
	}
	agentsOnly := agentDialer{}
	b := &Backend{Options: Options{Agents: 2}, Clientset: cs, Config: env.Config, Dialer: agentsOnly, Load: interrupt, RunID: "ctrlc"}
	_, err := b.Run(ctx, bench.Job{Plan: plan.ForVariant(0), Seed: 1}, bench.NewAggregator(0, time.Second))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	assertGone(t, cs, b.RenderOptions("ctrlc").Namespace)
}

// agentDialer gives agent pods an address nothing is asked of, and
// refuses the others.
type agentDialer struct{}

func (agentDialer) Pod(pod *corev1.Pod, port int) (string, *http.Client, error) {
	if pod.Labels[LabelService] == AgentName {
		return "http://127.0.0.1:1", http.DefaultClient, nil
	}
	return unreachable{}.Pod(pod, port)
}

// unreachable is a PodDialer for runs that must not reach a pod.
type unreachable struct{}

func (unreachable) Pod(pod *corev1.Pod, _ int) (string, *http.Client, error) {
	return "", nil, fmt.Errorf("pod %s: not reachable in this test", pod.Name)
}

func noLoad(context.Context, []Agent, LoadRequest, bench.Sink, func(time.Duration)) (LoadResult, error) {
	return LoadResult{}, errors.New("no load in this test")
}

func testRun(t *testing.T, env *k8senv.Env) {
	plan := loadPlan(t, e2eScenario)
	here := kubetest.Start(t, plan, 2, testLayout)
	cs := clientset(t, env)
	b := &Backend{
		Options:   Options{Agents: 2, ReadyTimeout: 2 * time.Minute, CleanupTimeout: 2 * time.Minute},
		Clientset: cs,
		Config:    env.Config,
		Dialer:    here,
		Target:    here.GatewayURL(),
		RunID:     "e2e",
	}
	ns := b.RenderOptions("e2e").Namespace
	// What the cluster holds once the run has waited for it.
	var during []string
	// The payments Deployment's replicas as the run changes them (the
	// kill of payments[1] for 2s scales it down and up again).
	var scaled []int32
	watched := make(chan struct{})
	wctx, stopWatch := context.WithCancel(t.Context())
	defer stopWatch()
	here.OnFirst(func() {
		var err error
		if during, err = Remaining(t.Context(), cs, ns); err != nil {
			t.Error(err)
		}
		w, err := cs.AppsV1().Deployments(ns).Watch(wctx, metav1.ListOptions{FieldSelector: "metadata.name=payments"})
		if err != nil {
			t.Error(err)
			close(watched)
			return
		}
		go func() {
			defer close(watched)
			defer w.Stop()
			for {
				select {
				case <-wctx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						return
					}
					if d, ok := ev.Object.(*appsv1.Deployment); ok && d.Spec.Replicas != nil {
						if n := *d.Spec.Replicas; len(scaled) == 0 || scaled[len(scaled)-1] != n {
							scaled = append(scaled, n)
						}
					}
				}
			}
		}()
	})
	sink := bench.NewAggregator(plan.Warmup, bench.DefaultBucketWidth)
	out, err := b.Run(t.Context(), bench.Job{Plan: plan.ForVariant(0), Seed: plan.Seed}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if out.End != plan.Duration {
		t.Errorf("end %v, want %v", out.End, plan.Duration)
	}
	sum, err := sink.Summarize(out.End)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests, availability %.4f, p99 %.1f ms, audit %+v", sum.Requests, sum.Availability, sum.LatencyMS.P99, out.Audit)
	if sum.Requests < 100 || sum.Availability < 0.5 {
		t.Errorf("requests %d, availability %.3f: the load did not flow", sum.Requests, sum.Availability)
	}
	if out.Audit == nil || out.Audit.Recorded == 0 || out.Audit.Lost != 0 {
		t.Errorf("audit %+v", out.Audit)
	}
	stopWatch()
	<-watched
	if !slices.Contains(scaled, 1) || scaled[len(scaled)-1] != 2 {
		t.Errorf("payments replicas during the run: %v, want down to 1 and back to 2", scaled)
	}
	// The slow fault went to risk[0] and was cleared; the heal cleared
	// every pod's faults.
	faults := strings.Join(here.Faults(), " ")
	if !strings.Contains(faults, `{"slow":2}`) || !strings.Contains(faults, `{"slow":null}`) || strings.Count(faults, `"hang":null`) < 6 {
		t.Errorf("faults posted: %s", faults)
	}
	m, err := Render(plan.ForVariant(0), 0, plan.Seed, b.RenderOptions("e2e"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, o := range m.Objects()[1:] {
		want[strings.ToLower(kindOf(o))+"/"+o.(metav1.Object).GetName()] = true
	}
	pods := 0
	for _, o := range during {
		delete(want, o)
		if strings.HasPrefix(o, "pod/") {
			pods++
		}
	}
	if len(want) > 0 {
		t.Errorf("not in the cluster during the run: %v (there: %v)", want, during)
	}
	if wantPods := 2 + 2 + 1 + 1 + 1 + 2; pods < wantPods {
		t.Errorf("%d pods during the run, want at least %d: %v", pods, wantPods, during)
	}
	assertGone(t, cs, ns)
}

func kindOf(o any) string {
	return o.(interface {
		GetObjectKind() schema.ObjectKind
	}).GetObjectKind().GroupVersionKind().Kind
}

// readYAML reads a YAML stream that WriteYAML wrote back into a
// Manifest, strictly: a field the types do not have is an error.
func readYAML(data []byte) (*Manifest, error) {
	m := &Manifest{}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var tm metav1.TypeMeta
		if err := sigsyaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, err
		}
		var err error
		switch tm.Kind {
		case "":
			continue // comments only
		case "Namespace":
			m.Namespace = &corev1.Namespace{}
			err = sigsyaml.UnmarshalStrict([]byte(doc), m.Namespace)
		case "ConfigMap":
			o := &corev1.ConfigMap{}
			err = sigsyaml.UnmarshalStrict([]byte(doc), o)
			m.ConfigMaps = append(m.ConfigMaps, o)
		case "Secret":
			o := &corev1.Secret{}
			err = sigsyaml.UnmarshalStrict([]byte(doc), o)
			m.Secrets = append(m.Secrets, o)
		case "Service":
			o := &corev1.Service{}
			err = sigsyaml.UnmarshalStrict([]byte(doc), o)
			m.Services = append(m.Services, o)
		case "Deployment":
			o := &appsv1.Deployment{}
			err = sigsyaml.UnmarshalStrict([]byte(doc), o)
			m.Deployments = append(m.Deployments, o)
		default:
			return nil, fmt.Errorf("unexpected kind %q", tm.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tm.Kind, err)
		}
	}
	return m, nil
}
