package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/kubernetes"
	"github.com/meshbench/meshbench/bench/kubernetes/kubetest"
	"github.com/meshbench/meshbench/internal/k8senv"
	"github.com/meshbench/meshbench/scenarios"
)

func TestKubernetesDryRunPrintsEveryObject(t *testing.T) {
	code, out, stderr := cli(t, context.Background(), "run", "balancer-brownout", "--backend", "kubernetes", "--dry-run", "-o", "yaml", "--variant", "round_robin", "--agents", "3", "--image", "registry.example.com/meshbench:v1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	kinds := map[string]int{}
	for _, doc := range strings.Split(out, "\n---\n") {
		var o struct {
			Kind string `json:"kind"`
			Spec struct {
				Replicas *int `json:"replicas"`
			} `json:"spec"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		kinds[o.Kind]++
		if o.Kind == "Deployment" && o.Metadata.Name == "agent" && (o.Spec.Replicas == nil || *o.Spec.Replicas != 3) {
			t.Errorf("agents: %+v", o.Spec)
		}
	}
	// The namespace; a ConfigMap, a Service and a Deployment per service
	// and the gateway; the agents' Deployment.
	if kinds["Namespace"] != 1 || kinds["ConfigMap"] != 5 || kinds["Service"] != 5 || kinds["Deployment"] != 6 {
		t.Errorf("kinds %v", kinds)
	}
	if !strings.Contains(out, "image: registry.example.com/meshbench:v1") || !strings.Contains(out, "image: meshbench/paymentsvc:dev") {
		t.Error("images not as asked")
	}
}

func TestKubernetesDryRunJSONIsOneList(t *testing.T) {
	code, out, stderr := cli(t, context.Background(), "run", "retry-storm", "--backend", "kubernetes", "--dry-run", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Kind string `json:"kind"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	namespaces := 0
	for _, it := range list.Items {
		if it.Kind == "Namespace" {
			namespaces++
		}
	}
	if list.Kind != "List" || namespaces < 2 {
		t.Errorf("kind %q with %d namespaces: one per variant wanted", list.Kind, namespaces)
	}
}

func TestKubernetesUsageErrors(t *testing.T) {
	noCluster := filepath.Join(t.TempDir(), "missing-kubeconfig")
	for _, c := range []struct {
		name, want string
		args       []string
	}{
		{"no cluster", "no Kubernetes cluster configured", []string{"run", "balancer-brownout", "--backend", "kubernetes", "--kubeconfig", noCluster, "--out", t.TempDir()}},
		{"option of another backend", "--agents is an option of the kubernetes backend", []string{"run", "balancer-brownout", "--backend", "sim", "--agents", "3", "--out", t.TempDir()}},
		{"dry run of another backend", "--dry-run renders the kubernetes backend's objects", []string{"run", "balancer-brownout", "--backend", "sim", "--dry-run"}},
		{"per-request records", "--results: the kubernetes backend's agents stream aggregates", []string{"run", "balancer-brownout", "--backend", "kubernetes", "--results", "--dry-run"}},
		{"no agents", "--agents must be at least 1", []string{"run", "balancer-brownout", "--backend", "kubernetes", "--agents", "0", "--dry-run"}},
		{"a scenario a cluster cannot run", "quotas are not available", []string{"run", "partner-quotas", "--backend", "kubernetes", "--dry-run"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), c.args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, want %d with %q; stderr: %s", code, exitUsage, c.want, stderr)
			}
		})
	}
}

// TestKubernetesRunOnTestControlPlane runs `meshbench run FILE --backend
// kubernetes` against the test control plane (internal/k8senv): the
// command loads the kubeconfig, creates the run's namespace and objects,
// waits for them, drives the agents and applies the faults through the
// API, writes the run folder, and deletes everything. kwok's pods run no
// containers, so the one substitution is what the pods serve: kubetest's
// in-process fleet, mesh and agents, dialed in place of the API server's
// pod proxy.
func TestKubernetesRunOnTestControlPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and runs a scenario for several seconds")
	}
	env := k8senv.StartForTest(t, k8senv.Options{})
	file := filepath.Join(t.TempDir(), "k8s-cli.yaml")
	if err := os.WriteFile(file, []byte(kubetest.Scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := scenarios.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	here := kubetest.Start(t, plan, 2, kubetest.Layout{
		ServiceLabel: kubernetes.LabelService, AgentService: kubernetes.AgentName,
		AgentPort: kubernetes.AgentPort, AppPort: kubernetes.AppPort,
	})
	kubeBackend.Dialer, kubeBackend.Target = here, here.GatewayURL()
	defer func() { kubeBackend.Dialer, kubeBackend.Target = nil, "" }()

	dir := filepath.Join(t.TempDir(), "run")
	code, out, stderr := cli(t, context.Background(), "run", file, "--backend", "kubernetes",
		"--kubeconfig", env.Kubeconfig, "--agents", "2", "--namespace-prefix", "clitest", "--out", dir)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	sum, err := bench.ReadSummary(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Runs) != 1 {
		t.Fatalf("%d runs in summary.json, want 1", len(sum.Runs))
	}
	r := sum.Runs[0]
	if r.Backend != kubernetes.BackendName || r.Requests < 100 || r.Availability < 0.5 {
		t.Errorf("run %s: %d requests, availability %.3f: the load did not flow", r.Backend, r.Requests, r.Availability)
	}
	if r.Audit == nil || r.Audit.Recorded == 0 || r.Audit.Lost != 0 {
		t.Errorf("audit %+v", r.Audit)
	}
	cs, err := k8s.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	nss, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss.Items {
		if strings.HasPrefix(ns.Name, "clitest-") {
			t.Errorf("namespace %s (%s) left after the run", ns.Name, ns.Status.Phase)
		}
	}
}

// TestKubernetesChecksOnlyTheVariantsRun: jwt-edge's per-client-ip
// variant cannot run on a cluster (the gateway sees one address per agent
// pod), but its other variants can, and --variant picks them.
func TestKubernetesChecksOnlyTheVariantsRun(t *testing.T) {
	code, _, stderr := cli(t, context.Background(), "run", "jwt-edge", "--backend", "kubernetes", "--dry-run", "-o", "table")
	if code != exitUsage || !strings.Contains(stderr, "per-client-ip") && !strings.Contains(stderr, "variants[2]") {
		t.Errorf("every variant: exit %d, %s", code, stderr)
	}
	code, out, stderr := cli(t, context.Background(), "run", "jwt-edge", "--backend", "kubernetes", "--dry-run", "-o", "table", "--variant", "global,per-jwt-sub")
	if code != exitOK {
		t.Fatalf("--variant global,per-jwt-sub: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "Deployment") {
		t.Errorf("no objects listed:\n%s", out)
	}
}
