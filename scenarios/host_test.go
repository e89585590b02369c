package scenarios

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const hostScenario = `apiVersion: meshbench/v1
kind: Scenario
name: host
duration: 10s
topology:
  gateway:
    routes:
      - {name: pay, service: payments}
  services:
    - {name: payments, replicas: 1, serviceTime: 5ms}
load:
  - target: {path: /v1/payments}
    rate: 100/s
host: {cores: 2, cpu: {client: 25us, gateway: 40us, sidecar: 35us, replica: 15us}}
`

// TestHostLoads: the host block decodes as written, and WithHostCores
// changes a copy only.
func TestHostLoads(t *testing.T) {
	p, err := LoadBytes("host.yaml", []byte(hostScenario))
	if err != nil {
		t.Fatal(err)
	}
	want := Host{Cores: 2, CPU: HostCPU{Client: 25 * time.Microsecond, Gateway: 40 * time.Microsecond, Sidecar: 35 * time.Microsecond, Replica: 15 * time.Microsecond}}
	if p.Host == nil || *p.Host != want {
		t.Fatalf("host = %+v, want %+v", p.Host, want)
	}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := LoadBytes("plan.json", js)
	if err != nil {
		t.Fatalf("plan.json with a host does not load back: %v", err)
	}
	if back.Host == nil || *back.Host != want {
		t.Fatalf("host after plan.json = %+v, want %+v", back.Host, want)
	}
	q, err := p.WithHostCores(4)
	if err != nil {
		t.Fatal(err)
	}
	if q.Host.Cores != 4 || p.Host.Cores != 2 {
		t.Fatalf("cores: copy %d, original %d; want 4 and 2", q.Host.Cores, p.Host.Cores)
	}
	if _, err := p.WithHostCores(0); err == nil {
		t.Fatal("0 cores accepted")
	}
	none, err := LoadBytes("none.yaml", []byte(strings.Replace(hostScenario, "host: {", "#", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if none.Host != nil {
		t.Fatal("a scenario without host has one")
	}
	if _, err := none.WithHostCores(2); err == nil || !strings.Contains(err.Error(), "no host block") {
		t.Fatalf("WithHostCores without a host block: %v", err)
	}
}
