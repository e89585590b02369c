package local

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/proxy/discovery"
)

// externalFleet is a plan whose replicas run elsewhere (StartMesh).
const externalFleet = `apiVersion: meshbench/v1
kind: Scenario
name: external
seed: 1
duration: 1s
backends: [local]
topology:
  MESH
  gateway:
    routes:
      - {name: pay, match: {method: POST, pathPrefix: /v1/payments}, service: payments}
  services:
    - {name: payments, replicas: 2, serviceTime: 1ms, calls: [{service: risk, parallel: true}, {service: fraud, parallel: true}, {service: ledger}]}
    - {name: risk, replicas: 1, serviceTime: 1ms}
    - {name: fraud, replicas: 1, serviceTime: 1ms}
    - {name: ledger, replicas: 1, serviceTime: 1ms}
load:
  - name: checkout
    target: {method: POST, path: /v1/payments}
    rate: 10/s
policy:
  timeouts: {request: 2s}
`

// stubFleet serves every replica of externalFleet as an httptest server
// answering "NAME PATH", and lists them as endpoints.
func stubFleet(t *testing.T, drop string) map[string][]discovery.Endpoint {
	t.Helper()
	eps := map[string][]discovery.Endpoint{}
	for svc, n := range map[string]int{"payments": 2, "risk": 1, "fraud": 1, "ledger": 1} {
		for i := range n {
			name := fmt.Sprintf("%s[%d]", svc, i)
			if name == drop {
				continue
			}
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "%s %s", name, r.URL.Path)
			}))
			t.Cleanup(s.Close)
			eps[svc] = append(eps[svc], discovery.Endpoint{ID: name, Address: s.Listener.Addr().String()})
		}
	}
	return eps
}

func loopback(string) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func get(t *testing.T, method, url string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return string(b)
}

func TestStartMeshRoutesToExternalReplicas(t *testing.T) {
	plan := loadPlan(t, strings.Replace(externalFleet, "MESH", "mesh: sidecar", 1))
	m, err := StartMesh(context.Background(), plan, 0, 1, stubFleet(t, ""), loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Timeout() != plan.Variants[0].Policy.Timeouts.Request {
		t.Errorf("Timeout %v, want the policy's request timeout", m.Timeout())
	}
	if body := get(t, http.MethodPost, m.GatewayURL()+"/v1/payments"); !strings.HasPrefix(body, "payments[") {
		t.Errorf("gateway answered %q, want a payments replica", body)
	}
	d := m.Downstream("payments[1]")
	for _, c := range []struct{ base, want string }{{d.Risk, "risk[0]"}, {d.Fraud, "fraud[0]"}, {d.Ledger, "ledger[0]"}} {
		if body := get(t, http.MethodPost, c.base+"/v1/x"); !strings.HasPrefix(body, c.want+" ") {
			t.Errorf("sidecar %s answered %q, want %s", c.base, body, c.want)
		}
	}
	if d := m.Downstream("risk[0]"); d.Risk != "" || d.Fraud != "" || d.Ledger != "" || d.GRPC != nil {
		t.Errorf("risk[0] calls nothing but has a sidecar: %+v", d)
	}
}

func TestStartMeshRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, mesh, drop, want string
	}{
		{name: "missing replica", mesh: "mesh: sidecar", drop: "ledger[0]", want: "ledger[0]: no endpoint"},
		{name: "proxyless", mesh: "mesh: proxyless", want: "proxyless"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := loadPlan(t, strings.Replace(externalFleet, "MESH", tc.mesh, 1))
			m, err := StartMesh(context.Background(), plan, 0, 1, stubFleet(t, tc.drop), loopback)
			if err == nil {
				m.Close()
				t.Fatal("StartMesh succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// status sends one request and returns its status.
func status(t *testing.T, method, url string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestStartMeshLosesAndPartitions: the data plane in front of replicas
// that run elsewhere (the containers backend's) loses messages on its hops
// as the network says, and cuts and restores a partition's hops.
func TestStartMeshLosesAndPartitions(t *testing.T) {
	base := strings.Replace(externalFleet, "MESH", "mesh: sidecar", 1)
	base = strings.Replace(base, "timeouts: {request: 2s}", "timeouts: {request: 300ms}", 1)

	t.Run("loss", func(t *testing.T) {
		plan := loadPlan(t, base+"network: {loss: 100%}\n")
		m, err := StartMesh(context.Background(), plan, 0, 1, stubFleet(t, ""), loopback)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if got := status(t, http.MethodPost, m.GatewayURL()+"/v1/payments"); got != http.StatusGatewayTimeout {
			t.Errorf("through a hop that loses everything: status %d, want 504", got)
		}
	})

	t.Run("partition", func(t *testing.T) {
		plan := loadPlan(t, base+"faults: [{at: 100ms, action: partition, target: risk, peer: payments}]\n")
		m, err := StartMesh(context.Background(), plan, 0, 1, stubFleet(t, ""), loopback)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		cut, restore, err := m.Partition(0)
		if err != nil {
			t.Fatal(err)
		}
		risk := m.Downstream("payments[0]").Risk + "/v1/risk"
		if got := status(t, http.MethodPost, risk); got != http.StatusOK {
			t.Fatalf("before the cut: status %d", got)
		}
		if err := cut(); err != nil {
			t.Fatal(err)
		}
		if got := status(t, http.MethodPost, risk); got != http.StatusGatewayTimeout {
			t.Errorf("across the partition: status %d, want 504", got)
		}
		if err := restore(); err != nil {
			t.Fatal(err)
		}
		if got := status(t, http.MethodPost, risk); got != http.StatusOK {
			t.Errorf("after the restore: status %d, want 200", got)
		}
		if _, _, err := m.Partition(1); err == nil {
			t.Error("Partition of a fault the plan does not have succeeded")
		}
	})
}
