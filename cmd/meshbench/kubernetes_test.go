package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
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
		{"a scenario a cluster cannot run", "authentication at the gateway is not available", []string{"run", "jwt-edge", "--backend", "kubernetes", "--dry-run"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), c.args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, want %d with %q; stderr: %s", code, exitUsage, c.want, stderr)
			}
		})
	}
}
