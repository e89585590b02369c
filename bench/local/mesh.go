package local

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/scenarios"
)

// ledgerBalancer shards the ledger: a ledger replica's idempotency covers
// its own file only, so every call for one payment must reach the same
// replica, or a retry that lands elsewhere records the payment twice, and
// a lookup by id finds nothing. The callers' proxies therefore hash the
// payment's id (fleet.HeaderPaymentID, a function of its Idempotency-Key;
// maglev) for the ledger, whatever the variant's balancer; a ledger is a
// keyed store, not a pool of interchangeable workers.
const ledgerBalancer = scenarios.BalancerMaglev

// buildMesh gives every replica that calls other services its client-side
// data plane: a sidecar proxy beside it (mesh: sidecar), or the proxy
// library embedded in it (mesh: proxyless). Either way it is a proxy in
// sidecar mode with one cluster per callee under the variant's policy,
// balancing from the replica's own zone; the sidecar listens on loopback
// and routes by the path's first segment (/risk/v1/risk), the embedded one
// is the replica's http.RoundTripper and routes by Host (http://risk).
func (e *env) buildMesh() error {
	proxyless := e.plan.Topology.Mesh == scenarios.MeshProxyless
	if proxyless && e.listen != nil {
		return fmt.Errorf("mesh: %w", ErrProxylessElsewhere)
	}
	for _, s := range e.services {
		if len(s.calls) == 0 {
			continue
		}
		names := s.callees()
		for _, r := range s.reps {
			cfg, err := e.sidecarConfig(r, names)
			if err != nil {
				return err
			}
			var opts []proxy.Option
			if e.tls != nil {
				opts = e.tls.proxyOptions(r.src, nil)
			}
			p, err := proxy.New(cfg, e.proxyOptions(opts...)...)
			if err != nil {
				return fmt.Errorf("%s: outbound proxy: %w", r.name, err)
			}
			e.mu.Lock()
			e.proxies = append(e.proxies, p)
			e.mu.Unlock()

			var (
				rt       http.RoundTripper
				base     func(string) string
				grpcBase string // where calls to gRPC services go; routed by :authority
			)
			if proxyless {
				rt = handlerTransport{h: p.Handler()}
				base = func(svc string) string { return "http://" + svc }
			} else {
				listen := func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
				if e.listen != nil {
					listen = func() (net.Listener, error) { return e.listen(r.name) }
				}
				addr, err := e.serveOn(p.Serve, listen)
				if err != nil {
					return fmt.Errorf("%s: sidecar: %w", r.name, err)
				}
				base = func(svc string) string { return "http://" + addr + "/" + svc }
				grpcBase = "http://" + addr
				d := Downstream{
					Risk:   base(string(fleet.RoleRisk)),
					Fraud:  base(string(fleet.RoleFraud)),
					Ledger: base(string(fleet.RoleLedger)),
				}
				urls := map[fleet.Role]*string{fleet.RoleRisk: &d.Risk, fleet.RoleFraud: &d.Fraud, fleet.RoleLedger: &d.Ledger}
				for _, role := range []fleet.Role{fleet.RoleRisk, fleet.RoleFraud, fleet.RoleLedger} {
					if callee := e.byName[string(role)]; callee != nil && callee.spec.GRPC() {
						*urls[role] = "http://" + addr
						d.GRPC = append(d.GRPC, role)
					}
				}
				e.downstream[r.name] = d
			}
			e.wire(r, rt, base, grpcBase)
		}
	}
	return nil
}

// wire points a replica's calls at its data plane: payments calls a gRPC
// service over gRPC at grpcBase (its sidecar, which routes the call by its
// :authority, the callee's name). A generic replica's calls are HTTP
// whatever the callee's protocol; its sidecar reaches a gRPC callee over
// h2c all the same.
func (e *env) wire(r *replica, rt http.RoundTripper, base func(string) string, grpcBase string) {
	s := r.svc
	if !s.generic && s.role == fleet.RolePayments {
		urls := map[fleet.Role]*string{fleet.RoleRisk: &r.cfg.RiskURL, fleet.RoleFraud: &r.cfg.FraudURL, fleet.RoleLedger: &r.cfg.LedgerURL}
		r.cfg.GRPCCallees = nil
		for _, role := range []fleet.Role{fleet.RoleRisk, fleet.RoleFraud, fleet.RoleLedger} {
			*urls[role] = base(string(role))
			if callee := e.byName[string(role)]; callee != nil && callee.spec.GRPC() && grpcBase != "" {
				*urls[role] = grpcBase
				r.cfg.GRPCCallees = append(r.cfg.GRPCCallees, role)
			}
		}
		r.cfg.Transport = rt
		return
	}
	if rt == nil {
		t := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
		e.mu.Lock()
		e.closers = append(e.closers, t.CloseIdleConnections)
		e.mu.Unlock()
		rt = t
	}
	roles := map[string]fleet.Role{}
	for _, o := range e.services {
		if !o.generic {
			roles[o.spec.Name] = o.role
		}
	}
	g := &generic{stages: s.calls, roles: roles, client: &http.Client{Transport: rt}, base: base}
	r.wrap = func(inner http.Handler) http.Handler {
		gg := *g
		gg.inner = inner
		return &gg
	}
}

// sidecarConfig is the outbound proxy of replica r, calling callees.
func (e *env) sidecarConfig(r *replica, callees []string) (config.Config, error) {
	cfg := config.Config{
		Mode:    config.ModeSidecar,
		Sidecar: config.SidecarConfig{Service: r.svc.spec.Name, PathPrefix: true},
		Server:  config.ServerConfig{ShutdownTimeout: config.Duration(5 * time.Second)},
	}
	for _, name := range callees {
		callee := e.byName[name]
		if callee == nil {
			return cfg, fmt.Errorf("%s calls unknown service %q", r.name, name)
		}
		eps, err := e.endpoints(r.name, r.zone, callee)
		if err != nil {
			return cfg, err
		}
		pol := dataplane.Sidecar(e.pol)
		cc := dataplane.Cluster(e.pol, name, r.zone, false)
		cc.Protocol = dataplane.ClusterProtocol(callee.spec)
		if e.tls != nil {
			cc.Protocol = config.ProtocolHTTPS
		}
		cc.Endpoints = eps
		if !callee.generic && callee.role == fleet.RoleLedger {
			pol.HashKey = config.HashKeyConfig{Header: fleet.HeaderPaymentID}
			if !slices.Contains(dataplane.HashBalancers, cc.Balancer.Type) || cc.Balancer.Type == scenarios.BalancerIPHash {
				cc.Balancer.Type = ledgerBalancer
			}
		}
		cfg.Sidecar.Outbound = append(cfg.Sidecar.Outbound, config.OutboundConfig{Service: name, Policy: pol})
		cfg.Clusters = append(cfg.Clusters, cc)
	}
	return cfg, nil
}

// callees names the services s calls, each once, sorted: the clusters of
// its replicas' sidecars.
func (s *service) callees() []string {
	var names []string
	for _, st := range s.calls {
		names = append(names, st...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}
