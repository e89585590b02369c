package load

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench/consumer"
	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/scenarios"
)

// seen is what the test gateway saw of one request.
type seen struct {
	addr, apiKey, bearer string
	leaked               bool // the load generator's source header reached the gateway
}

// recordingGateway answers 200 and records each request by X-Request-Id.
func recordingGateway(t *testing.T) (string, func() map[string]seen) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		got = map[string]seen{}
	)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		got[r.Header.Get(HeaderRequestID)] = seen{addr: host, apiKey: r.Header.Get("X-API-Key"), bearer: tok, leaked: r.Header.Get(headerSource) != ""}
		mu.Unlock()
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), func() map[string]seen {
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

// TestConsumersOnTheWire: each request of a workload with consumers comes
// from its consumer's source address in 127.1.0.0/16 and carries its
// credential, the consumer and the bad kind being the ones
// bench/consumer draws for the request's sequence number (what the
// simulator draws too); tokens verify against the run's issuer.
func TestConsumersOnTheWire(t *testing.T) {
	plan := loadPlan(t, `apiVersion: meshbench/v1
kind: Scenario
name: consumers
duration: 1s
topology:
  gateway:
    routes:
      - {name: keyed, service: payments, match: {pathPrefix: /keyed}, auth: {type: apiKey}}
      - {name: signed, service: payments, match: {pathPrefix: /signed}, auth: {type: jwt, issuer: https://iss.test, audience: pay}}
      - {name: open, service: payments}
  services:
    - {name: payments, replicas: 1, serviceTime: 1ms}
load:
  - name: keys
    target: {path: /keyed}
    rate: 200/s
    consumers: {count: 4, identity: apiKey, shares: [70%], badCredentials: {unknownKey: 20%, missing: 10%}}
  - name: tokens
    target: {path: /signed}
    rate: 200/s
    consumers: {count: 3, identity: jwt, badCredentials: {expired: 25%}}
  - name: plain
    target: {path: /open}
    rate: 100/s
`)
	base, saw := recordingGateway(t)
	const seed = 9
	if _, err := Run(context.Background(), Config{Target: base, Plan: plan, Seed: seed, Timeout: 5 * time.Second, Sink: &collect{}}); err != nil {
		t.Fatal(err)
	}
	is, err := consumer.NewIssuer(seed)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := is.JWKS()
	keys, _ := auth.ParseJWKS(jwks)
	verifier, err := auth.NewJWT(auth.JWTConfig{Issuer: "https://iss.test", Audiences: []string{"pay"}, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	sets := consumer.ForPlan(plan.Load, seed)
	counts := map[string]int{}
	for id, s := range saw() {
		if s.leaked {
			t.Fatalf("%s: the source header reached the gateway", id)
		}
		name, num, _ := strings.Cut(id, "-")
		counts[name]++
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			t.Fatalf("request id %q", id)
		}
		switch name {
		case "plain":
			if s.addr != "127.0.0.1" || s.apiKey != "" || s.bearer != "" {
				t.Errorf("%s: %+v, want 127.0.0.1 without credentials", id, s)
			}
		case "keys":
			set := sets[0]
			p := set.Pick(n)
			want := map[string]string{scenarios.BadNone: set.APIKey(p.Consumer), scenarios.BadMissing: "", scenarios.BadUnknownKey: set.UnknownAPIKey(p.Consumer)}[p.Bad]
			if s.addr != set.Source(p.Consumer).String() || s.apiKey != want {
				t.Errorf("%s: %+v, want from %s with key %q", id, s, set.Source(p.Consumer), want)
			}
		case "tokens":
			set := sets[1]
			p := set.Pick(n)
			if s.addr != set.Source(p.Consumer).String() {
				t.Errorf("%s: from %s, want %s", id, s.addr, set.Source(p.Consumer))
			}
			claims, err := verifier.Verify(context.Background(), s.bearer)
			switch {
			case p.Bad == scenarios.BadNone && (err != nil || claims["sub"] != set.Name(p.Consumer)):
				t.Errorf("%s: good token refused (%v) or of another sub %v", id, err, claims["sub"])
			case p.Bad == scenarios.BadExpired && err == nil:
				t.Errorf("%s: expired token accepted", id)
			}
		}
	}
	for _, name := range []string{"keys", "tokens", "plain"} {
		if counts[name] < 50 {
			t.Errorf("%d requests of %s reached the gateway", counts[name], name)
		}
	}
}

// TestRemoteTargetConsumers: with AllowRemoteTarget and a target taken for
// remote (asRemote: the test stays on loopback), API-key consumers keep
// their keys but requests leave from the machine's own address; a workload
// of consumers told apart by source address alone is refused before
// anything is sent.
func TestRemoteTargetConsumers(t *testing.T) {
	const head = `apiVersion: meshbench/v1
kind: Scenario
name: remote
duration: 500ms
topology:
  gateway:
    routes:
      - {name: keyed, service: payments, match: {pathPrefix: /keyed}, auth: {type: apiKey}}
      - {name: open, service: payments}
  services:
    - {name: payments, replicas: 1, serviceTime: 1ms}
load:
`
	base, saw := recordingGateway(t)
	plan := loadPlan(t, head+`  - {name: keys, target: {path: /keyed}, rate: 100/s, consumers: {count: 4, identity: apiKey}}
`)
	if _, err := Run(context.Background(), Config{Target: base, AllowRemoteTarget: true, asRemote: true, Plan: plan, Seed: 3, Timeout: 5 * time.Second, Sink: &collect{}}); err != nil {
		t.Fatal(err)
	}
	got := saw()
	if len(got) < 20 {
		t.Fatalf("%d requests reached the gateway", len(got))
	}
	for id, s := range got {
		if s.leaked || s.addr != "127.0.0.1" || s.apiKey == "" {
			t.Fatalf("%s: %+v, want from 127.0.0.1 with its key and no source header", id, s)
		}
	}

	bySource := loadPlan(t, head+`  - {name: open, target: {path: /open}, rate: 100/s, consumers: {count: 4}}
`)
	_, err := Run(context.Background(), Config{Target: base, AllowRemoteTarget: true, asRemote: true, Plan: bySource, Seed: 3, Sink: &collect{}})
	if err == nil || !strings.Contains(err.Error(), "source address") {
		t.Errorf("sourceIp consumers to a remote target: %v, want a refusal", err)
	}
}
