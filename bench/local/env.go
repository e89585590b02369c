package local

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/proxy"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/scenarios"
)

// env is everything one run starts: the fleet's replicas, the network's
// hops (when needed), the sidecars (or embedded proxies) and the gateway.
// close stops all of it, whatever state the run left it in.
type env struct {
	plan     *scenarios.Plan
	pol      *scenarios.Policy
	seed     uint64
	omitKeys bool
	dir      string // ledger files
	log      *slog.Logger

	services []*service
	byName   map[string]*service
	net      *network // nil: callers dial replicas directly
	tries    *tries

	gateway *proxy.Proxy
	gwAddr  string
	edge    *edge                // the gateway's route fault filters and caches (edge.go)
	guards  *guards              // the gateway's quota and its clock (guards.go)
	as      *authorizationServer // the introspection endpoint (introspection.go); nil: none
	asURL   string
	reg     *registry // the service registry of discovery type registry (discovery.go); nil: static
	tls     *meshTLS  // nil: plaintext between workloads

	// listen opens a sidecar's listener (StartMesh); nil: loopback.
	listen func(replica string) (net.Listener, error)
	// downstream is where each caller's sidecar listens, by replica.
	downstream map[string]Downstream

	mu      sync.Mutex
	proxies []*proxy.Proxy // sidecars and embedded proxies
	closers []func()       // transports and listeners of the mesh
	serving sync.WaitGroup // Serve loops of the gateway and sidecars
}

// start builds and starts the fleet of job's variant, on loopback.
func start(plan *scenarios.Plan, variant int, seed uint64, omitKeys bool) (e *env, err error) {
	e, err = newEnv(plan, variant, seed, omitKeys)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.close()
			e = nil
		}
	}()
	if e.dir, err = os.MkdirTemp("", "meshbench-local-*"); err != nil {
		return e, fmt.Errorf("ledger folder: %w", err)
	}
	if err := e.buildServices(nil); err != nil {
		return e, err
	}
	return e, e.startDataPlane()
}

// newEnv is an empty env for a variant of plan.
func newEnv(plan *scenarios.Plan, variant int, seed uint64, omitKeys bool) (*env, error) {
	if plan == nil {
		return nil, errors.New("no plan")
	}
	if variant < 0 || variant >= len(plan.Variants) {
		return nil, fmt.Errorf("variant %d out of range: the plan has %d", variant, len(plan.Variants))
	}
	return &env{
		plan:       plan,
		pol:        &plan.Variants[variant].Policy,
		seed:       seed,
		omitKeys:   omitKeys,
		log:        slog.New(slog.DiscardHandler),
		byName:     map[string]*service{},
		tries:      newTries(),
		downstream: map[string]Downstream{},
	}, nil
}

// startDataPlane is the one plan-to-proxy mapping of both the local
// backend and StartMesh: the network's hops when the plan needs them, the
// callers' sidecars (or embedded proxies), the in-process replicas (none
// when they run elsewhere), and the gateway last, once there is something
// behind it.
func (e *env) startDataPlane() error {
	if needsNetwork(e.plan) {
		e.net = newNetwork()
	}
	if err := e.secure(); err != nil {
		return err
	}
	if err := e.buildMesh(); err != nil {
		return err
	}
	for _, s := range e.services {
		for _, r := range s.reps {
			if r.external {
				continue
			}
			if err := r.start(); err != nil {
				return err
			}
		}
	}
	if err := e.startGateway(); err != nil {
		return err
	}
	if e.tls != nil {
		e.tls.start()
	}
	return nil
}

// buildServices maps every scenario service onto the fleet and reserves
// each replica's address; with external endpoints (StartMesh), each
// replica is the endpoint of its name and is never started here.
func (e *env) buildServices(external map[string][]discovery.Endpoint) error {
	topo := &e.plan.Topology
	if err := topo.CheckFleetOperations(scenarios.BackendLocal); err != nil {
		return err
	}
	if external == nil {
		if err := e.plan.CheckProtocols(scenarios.BackendLocal); err != nil {
			return err
		}
	}
	roles := map[string]fleet.Role{}
	for i := range topo.Services {
		sp := &topo.Services[i]
		role, generic := roleOf(sp, topo)
		s := &service{spec: sp, role: role, generic: generic, calls: callees(sp, role, generic)}
		if !generic {
			roles[sp.Name] = role
		} else {
			roles[sp.Name] = ""
		}
		e.services = append(e.services, s)
		e.byName[sp.Name] = s
	}
	for _, s := range e.services {
		if s.generic {
			if err := checkGenericCalls(s.spec, roles); err != nil {
				return err
			}
		}
		for i := range s.spec.Replicas {
			name := fmt.Sprintf("%s[%d]", s.spec.Name, i)
			r := &replica{svc: s, index: i, name: name, zone: s.spec.ReplicaZone(i)}
			r.cfg = fleet.Config{
				Role:                   s.role,
				Name:                   name,
				Seed:                   e.seed ^ hashString(name),
				ServiceTime:            s.spec.ServiceTime,
				ErrorRate:              float64(s.spec.ErrorRate),
				Concurrency:            max(s.spec.Concurrency, 1),
				Queue:                  max(s.spec.Queue, 0),
				OptionalIdempotencyKey: e.omitKeys,
				Logger:                 e.log,
			}
			if s.role == fleet.RolePayments && !s.generic {
				r.cfg.LookupServiceTime = lookupServiceTime(s.spec)
			}
			if s.role == fleet.RoleLedger && !s.generic {
				r.cfg.LedgerPath = filepath.Join(e.dir, name+".db")
				// The disk is not what the bench measures; records still
				// survive a kill, which closes the file.
				r.cfg.LedgerNoSync = true
			}
			if s.generic {
				// Callers get their outbound transport in buildMesh.
				r.wrap = func(inner http.Handler) http.Handler { return &generic{inner: inner} }
			}
			if external != nil {
				if err := r.useEndpoint(external[s.spec.Name]); err != nil {
					return err
				}
			} else if err := r.listen(); err != nil {
				return err
			}
			s.reps = append(s.reps, r)
		}
	}
	return nil
}

// endpoints lists the replicas of service svc as the node from sees them:
// through the network's hops when there is a network, else directly, each
// with its scenario weight.
func (e *env) endpoints(from, fromZone string, svc *service) ([]discovery.Endpoint, error) {
	var eps []discovery.Endpoint
	for _, r := range svc.reps {
		addr := r.addr
		if e.net != nil {
			l, err := e.net.add(from, fromZone, r)
			if err != nil {
				return nil, err
			}
			if err := e.hopLatency(l); err != nil {
				return nil, err
			}
			addr = l.addr
		}
		eps = append(eps, discovery.Endpoint{ID: r.name, Address: addr, Zone: r.zone, Weight: svc.spec.ReplicaWeight(r.index)})
	}
	return eps, nil
}

// hopLatency gives a hop its two delay toxics: the scenario's network
// latency between its zones, there and back, when it is a millisecond or
// more, and no delay otherwise; and the hop's loss, each way.
func (e *env) hopLatency(l *link) error {
	hop := e.plan.Network.Between(l.fromZone, l.to.zone)
	lat, err := hopLatency(hop.Latency)
	if err != nil {
		return fmt.Errorf("network latency %s: %w", l.p.Name, err)
	}
	if err := l.addToxic(delayToxicFor("hop_up", "upstream", lat, hop.Loss)); err != nil {
		return err
	}
	return l.addToxic(delayToxicFor("hop_down", "downstream", lat, hop.Loss))
}

// needsNetwork reports whether the plan asks for anything on the network
// that loopback does not give: a partition, a latency fault, a hop whose
// mean latency is a millisecond or more, or a hop that loses messages.
func needsNetwork(plan *scenarios.Plan) bool {
	for _, f := range plan.Faults {
		if f.Action == scenarios.ActionPartition || f.Action == scenarios.ActionLatency {
			return true
		}
	}
	zones := append([]string{""}, plan.Topology.Zones()...)
	for _, a := range zones {
		for _, b := range zones {
			hop := plan.Network.Between(a, b)
			if lat, _ := hopLatency(hop.Latency); lat != nil || hop.Loss > 0 {
				return true
			}
		}
	}
	return false
}

// serve runs a proxy's Serve loop on a new loopback listener and returns
// its address.
func (e *env) serve(serveFn func(net.Listener) error) (string, error) {
	return e.serveOn(serveFn, func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") })
}

// serveOn runs a proxy's Serve loop on the listener listen opens and
// returns its address.
func (e *env) serveOn(serveFn func(net.Listener) error, listen func() (net.Listener, error)) (string, error) {
	ln, err := listen()
	if err != nil {
		return "", err
	}
	e.serving.Go(func() { _ = serveFn(ln) })
	return ln.Addr().String(), nil
}

// timeout is the longest time the gateway may take over a request: the
// longest route timeout, 0 when some route has none.
func (e *env) timeout() time.Duration {
	var longest time.Duration
	for _, r := range e.plan.Gateway.Routes {
		t := r.Timeout
		if t <= 0 {
			t = e.pol.Timeouts.Request
		}
		if t <= 0 {
			return 0
		}
		longest = max(longest, t)
	}
	return longest
}

// close stops everything: the gateway first, so that no new request
// comes in; then the replicas, whose clients' connections to their
// sidecars close with them; then the sidecars and embedded proxies, which
// then have no connection left to wait for; then the network; ledger
// files are removed last.
func (e *env) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if e.tls != nil {
		e.tls.close()
	}
	if e.gateway != nil {
		_ = e.gateway.Shutdown(ctx)
	}
	if e.reg != nil {
		e.reg.close()
	}
	for _, s := range e.services {
		for _, r := range s.reps {
			_ = r.stop()
		}
	}
	e.mu.Lock()
	proxies := slices.Clone(e.proxies)
	closers := slices.Clone(e.closers)
	e.mu.Unlock()
	for _, c := range closers {
		c()
	}
	for _, p := range proxies {
		_ = p.Shutdown(ctx)
	}
	e.serving.Wait()
	if e.net != nil {
		e.net.close()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// proxyOptions are the options of every proxy the backend starts.
func (e *env) proxyOptions(extra ...proxy.Option) []proxy.Option {
	return append([]proxy.Option{proxy.WithLogger(e.log), proxy.WithSeed(e.seed)}, extra...)
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// errNoLedger is returned by audit when the topology has no ledger.
var errNoLedger = errors.New("no ledger in the topology")
