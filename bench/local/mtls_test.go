package local

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/meshbench/meshbench/proxy/mtls"
)

// mtlsPlan is the payment fleet under mutual TLS in mode.
func mtlsPlan(mode, rotateEvery string) string {
	return `apiVersion: meshbench/v1
kind: Scenario
name: mtls
duration: 2s
backends: [local]
topology:
  gateway:
    routes:
      - {name: pay, match: {method: POST, path: /v1/payments}, service: payments}
  services:
` + paymentFleet + `load:
  - target: {method: POST, path: /v1/payments}
    rate: 10/s
policy:
  timeouts: {request: 5s}
  security: {mtls: {mode: ` + mode + `, certTtl: 1h, rotateEvery: ` + rotateEvery + `}}
`
}

// pay sends one payment through the gateway.
func pay(t *testing.T, e *env, key string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+e.gwAddr+"/v1/payments", strings.NewReader(`{"amount": 100, "currency": "EUR", "merchant": "m1", "cardToken": "tok_`+key+`"}`))
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("payment through the gateway: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("payment through the gateway: %d %s", resp.StatusCode, body)
	}
}

// plaintextHealth asks a replica for /healthz without TLS: the status, or
// 0 when the connection failed.
func plaintextHealth(addr string) int {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// peerSerial handshakes with addr as a workload of the run's mesh and
// returns the serial number of the certificate the replica presented.
func peerSerial(t *testing.T, e *env, addr string, withCert bool) (string, error) {
	t.Helper()
	var cfg *tls.Config
	if withCert {
		src, err := e.tls.identity("test", "client")
		if err != nil {
			t.Fatal(err)
		}
		cfg = mtls.ClientConfig(src, e.tls.verifier())
	} else {
		cfg = &tls.Config{InsecureSkipVerify: true}
	}
	cfg.NextProtos = []string{"http/1.1"}
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// A TLS 1.3 server checks the client's certificate after the client's
	// handshake is done: a request and its answer tell.
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, err := io.ReadAll(conn)
	if err != nil {
		return "", err
	}
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 200")) {
		return "", fmt.Errorf("answer %q", b)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	id, err := mtls.IDFromCert(leaf)
	if err != nil {
		return "", err
	}
	if want := spiffeid.RequireFromString("spiffe://meshbench.local/ns/mesh/sa/payments"); id != want {
		return "", fmt.Errorf("replica presents %s, want %s", id, want)
	}
	return leaf.SerialNumber.String(), nil
}

// TestMTLSStrict checks that mTLS is really on under STRICT: payments go
// through (gateway → payments → sidecar → risk, fraud, ledger, every hop
// to a replica mutual TLS), a replica refuses plaintext and a TLS client
// without a certificate of the run's CA, and a renewal changes the
// certificate new connections see while the mesh keeps working.
func TestMTLSStrict(t *testing.T) {
	e, err := start(loadPlan(t, mtlsPlan("STRICT", "30m")), 0, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	if e.tls == nil {
		t.Fatal("no mutual TLS under STRICT")
	}
	pay(t, e, "k1")
	addr := e.byName["payments"].reps[0].addr
	if st := plaintextHealth(addr); st/100 == 2 {
		t.Errorf("plaintext /healthz to a STRICT replica answered %d", st)
	}
	if _, err := peerSerial(t, e, addr, false); err == nil {
		t.Error("a TLS client without a certificate was served")
	}
	before, err := peerSerial(t, e, addr, true)
	if err != nil {
		t.Fatalf("mutual TLS to a replica: %v", err)
	}
	e.tls.rotate(time.Now())
	after, err := peerSerial(t, e, addr, true)
	if err != nil {
		t.Fatalf("mutual TLS after the renewal: %v", err)
	}
	if before == after {
		t.Errorf("the replica presents certificate %s before and after the renewal", before)
	}
	pay(t, e, "k2")
	audit, err := e.audit(context.Background(), nil)
	if err != nil {
		t.Fatalf("audit under mTLS: %v", err)
	}
	if audit.Recorded < 2 {
		t.Errorf("audit found %d payments recorded, want the two", audit.Recorded)
	}
}

// TestMTLSPermissive checks that a PERMISSIVE replica serves plaintext and
// mutual TLS on one port, and that the mesh speaks mutual TLS.
func TestMTLSPermissive(t *testing.T) {
	e, err := start(loadPlan(t, mtlsPlan("PERMISSIVE", "30m")), 0, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	pay(t, e, "k1")
	addr := e.byName["risk"].reps[0].addr
	if st := plaintextHealth(addr); st != http.StatusOK {
		t.Errorf("plaintext /healthz to a PERMISSIVE replica: %d, want 200", st)
	}
	if _, err := peerSerial(t, e, e.byName["payments"].reps[0].addr, true); err != nil {
		t.Errorf("mutual TLS to a PERMISSIVE replica: %v", err)
	}
}

// TestMTLSRotates checks that certificates are renewed on the run's clock
// at rotateEvery.
func TestMTLSRotates(t *testing.T) {
	e, err := start(loadPlan(t, mtlsPlan("STRICT", "100ms")), 0, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	first, err := peerSerial(t, e, e.byName["payments"].reps[0].addr, true)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.tls.rotations.Load() < 2 && time.Now().Before(deadline) {
		pay(t, e, fmt.Sprintf("k%d", e.tls.rotations.Load()))
		time.Sleep(20 * time.Millisecond) // bounded poll of a wall-clock runner
	}
	if n := e.tls.rotations.Load(); n < 2 {
		t.Fatalf("%d renewals in 10s at rotateEvery 100ms", n)
	}
	later, err := peerSerial(t, e, e.byName["payments"].reps[0].addr, true)
	if err != nil {
		t.Fatal(err)
	}
	if first == later {
		t.Error("the replica's certificate did not change")
	}
}

// TestMTLSGRPC checks that a gRPC service is reached over HTTP/2 inside
// mutual TLS (ALPN h2) as it is over h2c in plaintext.
func TestMTLSGRPC(t *testing.T) {
	src := strings.Replace(mtlsPlan("STRICT", "30m"), "{name: risk, replicas: 2, concurrency: 16, serviceTime: 1ms}",
		"{name: risk, replicas: 2, concurrency: 16, serviceTime: 1ms, protocol: grpc}", 1)
	if !strings.Contains(src, "protocol: grpc") {
		t.Fatal("the plan has no gRPC service")
	}
	e, err := start(loadPlan(t, src), 0, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	pay(t, e, "k1")
	pay(t, e, "k2")
}

// TestMTLSNeedsInProcessFleet: the containers backend's data plane
// (StartMesh) fronts replicas that serve plaintext; mutual TLS there is
// an error, not a silent plaintext run (validation refuses it first).
func TestMTLSNeedsInProcessFleet(t *testing.T) {
	src := strings.Replace(externalFleet, "MESH", "mesh: sidecar", 1) + "  security: {mtls: {mode: STRICT}}\n"
	listen := func(string) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
	m, err := StartMesh(context.Background(), loadPlan(t, src), 0, 1, stubFleet(t, ""), listen)
	if err == nil {
		m.Close()
		t.Fatal("StartMesh ran mutual TLS in front of plaintext replicas")
	}
	if !strings.Contains(err.Error(), "mtls") {
		t.Errorf("error %v does not name mtls", err)
	}
}
