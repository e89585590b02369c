package kubernetes

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/scenarios"
)

func library(t *testing.T, name string) *scenarios.Plan {
	t.Helper()
	file, src, err := scenarios.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := scenarios.LoadBytes(file, src)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func renderOf(t *testing.T, plan *scenarios.Plan, variant int) *Manifest {
	t.Helper()
	m, err := Render(plan.ForVariant(variant), variant, 7, RenderOptions{Namespace: "meshbench-test", RunID: "test", Agents: 3})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func deployment(m *Manifest, name string) *appsv1.Deployment {
	for _, d := range m.Deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func TestRenderEveryServiceGatewayAndAgents(t *testing.T) {
	plan := library(t, "zone-failure")
	m := renderOf(t, plan, 0)
	if m.Namespace.Name != "meshbench-test" {
		t.Fatalf("namespace %q", m.Namespace.Name)
	}
	for _, s := range plan.Services {
		d := deployment(m, s.Name)
		if d == nil {
			t.Fatalf("no deployment for %s", s.Name)
		}
		if got := *d.Spec.Replicas; int(got) != s.Replicas {
			t.Errorf("%s: %d replicas, want %d", s.Name, got, s.Replicas)
		}
		pod := d.Spec.Template.Spec
		if len(pod.Containers) != 2 || pod.Containers[0].Name != "paymentsvc" || pod.Containers[1].Name != "proxy" {
			t.Fatalf("%s: containers %+v", s.Name, pod.Containers)
		}
		if pod.Containers[0].Image != DefaultFleetImage || pod.Containers[1].Image != DefaultMeshbenchImage {
			t.Errorf("%s: images %s, %s", s.Name, pod.Containers[0].Image, pod.Containers[1].Image)
		}
		zones := zonesOf(&s)
		if len(zones) > 0 {
			req := pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0]
			if req.Key != ZoneLabel || strings.Join(req.Values, ",") != strings.Join(zones, ",") {
				t.Errorf("%s: zone affinity %+v, want %v", s.Name, req, zones)
			}
		}
		if len(zones) > 1 && (len(pod.TopologySpreadConstraints) != 1 || pod.TopologySpreadConstraints[0].TopologyKey != ZoneLabel) {
			t.Errorf("%s: spread %+v", s.Name, pod.TopologySpreadConstraints)
		}
		for k, v := range d.Spec.Selector.MatchLabels {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("%s: selector %s=%s does not match the template", s.Name, k, v)
			}
		}
	}
	if d := deployment(m, AgentName); d == nil || *d.Spec.Replicas != 3 || d.Spec.Template.Spec.Containers[0].Args[0] != "agent" {
		t.Fatalf("agents: %+v", d)
	}
	// The agents send load off loopback to the run's gateway and nowhere else.
	if args := deployment(m, AgentName).Spec.Template.Spec.Containers[0].Args; !slices.Equal(args[len(args)-2:], []string{"--allow-target", m.Target}) {
		t.Errorf("agent args %v, want --allow-target %s", args, m.Target)
	}
	if d := deployment(m, GatewayName); d == nil || d.Spec.Template.Spec.Containers[0].Args[0] != "proxy" {
		t.Fatalf("gateway: %+v", d)
	}
	if m.Target != "http://gateway.meshbench-test.svc.cluster.local:80" {
		t.Errorf("target %q", m.Target)
	}
	// Every object carries the run's label, and every proxy configuration
	// is one the proxy loads.
	for _, o := range m.Objects() {
		meta := o.(interface{ GetLabels() map[string]string })
		if meta.GetLabels()[LabelRun] != "test" {
			t.Errorf("%T without the run label", o)
		}
	}
	for _, cm := range m.ConfigMaps {
		if _, err := config.Parse(cm.Name, []byte(cm.Data[proxyFile])); err != nil {
			t.Errorf("%s: %v", cm.Name, err)
		}
	}
}

func TestRenderWiresPaymentsThroughItsSidecar(t *testing.T) {
	m := renderOf(t, library(t, "balancer-brownout"), 0)
	env := map[string]corev1.EnvVar{}
	for _, e := range deployment(m, "payments").Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	if got := env["PAYMENTSVC_LEDGER_URL"].Value; got != "http://127.0.0.1:15001/ledger" {
		t.Errorf("ledger URL %q", got)
	}
	if env["PAYMENTSVC_NAME"].ValueFrom == nil || env["PAYMENTSVC_NAME"].ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("name %+v", env["PAYMENTSVC_NAME"])
	}
	var cfg config.Config
	for _, cm := range m.ConfigMaps {
		if cm.Name == "proxy-payments" {
			c, err := config.Parse(cm.Name, []byte(cm.Data[proxyFile]))
			if err != nil {
				t.Fatal(err)
			}
			cfg = c
		}
	}
	if len(cfg.Sidecar.Outbound) != 3 {
		t.Fatalf("outbound %+v", cfg.Sidecar.Outbound)
	}
	for _, c := range cfg.Clusters {
		if c.Name == "local" {
			continue
		}
		if c.Discovery == nil || c.Discovery.Type != "dns" || c.Discovery.Host != c.Name+".meshbench-test.svc.cluster.local." || c.Discovery.Port != InboundPort {
			t.Errorf("cluster %s discovery %+v", c.Name, c.Discovery)
		}
		if c.Name == "ledger" && c.Balancer.Type != scenarios.BalancerMaglev {
			t.Errorf("ledger balancer %q", c.Balancer.Type)
		}
	}
	ledger := deployment(m, "ledger").Spec.Template.Spec
	if len(ledger.Volumes) != 2 || ledger.Volumes[0].EmptyDir == nil {
		t.Errorf("ledger volumes %+v", ledger.Volumes)
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	plan := library(t, "retry-storm")
	var a, b bytes.Buffer
	if err := renderOf(t, plan, 0).WriteYAML(&a); err != nil {
		t.Fatal(err)
	}
	if err := renderOf(t, plan, 0).WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("two renders differ")
	}
	for _, want := range []string{"kind: Namespace", "kind: ConfigMap", "kind: Service", "kind: Deployment", "\n---\n"} {
		if !strings.Contains(a.String(), want) {
			t.Errorf("YAML lacks %q", want)
		}
	}
	if strings.Contains(a.String(), "status:") || strings.Contains(a.String(), "creationTimestamp") {
		t.Error("YAML has server-side fields")
	}
}

func TestRenderRefusesWhatAClusterCannotRun(t *testing.T) {
	for _, tc := range []struct{ scenario, want string }{
		{"jwt-edge", "a limit per client address with consumers"},
		{"partner-quotas", "quotas are not available"},
		{"weighted-canary", "replica weights"},
	} {
		plan := library(t, tc.scenario)
		_, err := Render(plan.ForVariant(len(plan.Variants)-1), len(plan.Variants)-1, 1, RenderOptions{Namespace: "n", RunID: "r"})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "on kubernetes") {
			t.Errorf("%s: %v, want %q", tc.scenario, err, tc.want)
		}
	}
}

func TestSanitizeLabel(t *testing.T) {
	for in, want := range map[string]string{"round robin": "round-robin", "-x-": "x", strings.Repeat("a", 70): strings.Repeat("a", 63)} {
		if got := sanitizeLabel(in); got != want {
			t.Errorf("sanitizeLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
