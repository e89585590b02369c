package containers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/scenarios"
)

// testMesh is a stand-in data plane for the backend's tests: the real
// proxy as gateway (round robin over payments, retrying gateway errors,
// resets and refused connections) and as one sidecar per payments replica
// (risk, fraud and ledger, the ledger sharded by Idempotency-Key), with
// fixed policies rather than the variant's. It exercises the container
// side of a run — sidecars on the run network's gateway address, upstreams
// on published ports — without the local backend's plan mapping.
type testMesh struct {
	gateway  *proxy.Proxy
	gwURL    string
	sidecars map[string]*proxy.Proxy
	urls     map[string]DownstreamURLs
	serving  sync.WaitGroup
}

func newTestMesh(_ *scenarios.Plan, _ int, seed uint64, eps map[string][]discovery.Endpoint, listen func(string) (net.Listener, error)) (_ DataPlane, err error) {
	m := &testMesh{sidecars: map[string]*proxy.Proxy{}, urls: map[string]DownstreamURLs{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, m.Close())
		}
	}()
	// The sidecars give up on a try sooner than the gateway, so that a
	// paused callee costs a sidecar retry, not the gateway's whole try.
	policy := func(perTry time.Duration) proxy.Policy {
		return proxy.Policy{Timeout: proxy.Duration(3 * time.Second), Retry: proxy.RetryConfig{
			Attempts: 3, RetryOn: []string{"gateway-error", "reset", "connect-failure"}, PerTryTimeout: proxy.Duration(perTry)}}
	}
	cluster := func(name string, b string) proxy.ClusterConfig {
		return proxy.ClusterConfig{Name: name, Endpoints: eps[name], Balancer: proxy.BalancerConfig{Type: b},
			Connection: proxy.ConnectionConfig{ConnectTimeout: proxy.Duration(250 * time.Millisecond)}}
	}
	opts := []proxy.Option{proxy.WithSeed(seed), proxy.WithLogger(slog.New(slog.DiscardHandler))}
	for _, r := range eps[string(fleet.RolePayments)] {
		cfg := proxy.Config{Mode: proxy.ModeSidecar, Sidecar: proxy.SidecarConfig{Service: "payments", PathPrefix: true}}
		for _, svc := range []string{"risk", "fraud", "ledger"} {
			p, b := policy(150*time.Millisecond), scenarios.BalancerRoundRobin
			if svc == "ledger" {
				p.HashKey = proxy.HashKeyConfig{Header: fleet.HeaderIdempotencyKey}
				b = scenarios.BalancerMaglev
			}
			cfg.Sidecar.Outbound = append(cfg.Sidecar.Outbound, proxy.OutboundConfig{Service: svc, Policy: p})
			cfg.Clusters = append(cfg.Clusters, cluster(svc, b))
		}
		sc, err := proxy.New(cfg, opts...)
		if err != nil {
			return nil, fmt.Errorf("sidecar of %s: %w", r.ID, err)
		}
		m.sidecars[r.ID] = sc
		ln, err := listen(r.ID)
		if err != nil {
			return nil, err
		}
		m.serving.Go(func() { _ = sc.Serve(ln) })
		base := "http://" + ln.Addr().String()
		m.urls[r.ID] = DownstreamURLs{Risk: base + "/risk", Fraud: base + "/fraud", Ledger: base + "/ledger"}
	}
	gw, err := proxy.New(proxy.Config{
		Mode:     proxy.ModeGateway,
		Routes:   []proxy.RouteConfig{{Name: "payments", Match: proxy.MatchConfig{Prefix: "/v1/payments"}, Cluster: "payments", Policy: policy(time.Second)}},
		Clusters: []proxy.ClusterConfig{cluster("payments", scenarios.BalancerRoundRobin)},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	m.gateway = gw
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m.serving.Go(func() { _ = gw.Serve(ln) })
	m.gwURL = "http://" + ln.Addr().String()
	return m, nil
}

func (m *testMesh) GatewayURL() string                    { return m.gwURL }
func (m *testMesh) Attempts(string) (int, int)            { return 0, 0 }
func (m *testMesh) Timeout() time.Duration                { return 3 * time.Second }
func (m *testMesh) Downstream(name string) DownstreamURLs { return m.urls[name] }

func (m *testMesh) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if m.gateway != nil {
		errs = append(errs, m.gateway.Shutdown(ctx))
	}
	for _, sc := range m.sidecars {
		errs = append(errs, sc.Shutdown(ctx))
	}
	m.serving.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}
