package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/scenarios"
)

// registry is the run's service registry (scenarios.Discovery, type
// registry): proxy/discovery's Store behind its Server on loopback; each
// replica the gateway reaches registers in it with the policy's ttl and
// heartbeats every heartbeat through discovery.Client, from a goroutine
// that a kill stops (a crashed process heartbeats no more) and a restart
// starts again; the gateway's clusters list it every
// scenarios.RegistryRefresh (discovery.Registry). A replica registers
// the address the gateway dials for it (its hop, when the network is
// modelled), as a mesh's registry records the address callers use.
type registry struct {
	store   *discovery.Store
	srv     *http.Server
	url     string
	client  *discovery.Client
	ttl, hb time.Duration

	mu    sync.Mutex
	inst  map[string]registration       // by replica name
	beats map[string]context.CancelFunc // heartbeaters running, by replica name
	wg    sync.WaitGroup
}

// registration is what a replica registers, under which service.
type registration struct {
	service string
	ep      discovery.Endpoint
}

// startRegistry serves a registry on loopback when the policy asks for
// one; e.reg stays nil otherwise.
func (e *env) startRegistry() error {
	if !e.pol.Registry() {
		return nil
	}
	d := e.pol.Discovery
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	g := &registry{
		store: discovery.NewStore(d.TTL),
		ttl:   d.TTL,
		hb:    d.Heartbeat,
		inst:  map[string]registration{},
		beats: map[string]context.CancelFunc{},
	}
	g.srv = &http.Server{Handler: discovery.NewServer(g.store), ReadHeaderTimeout: 5 * time.Second}
	g.url = "http://" + ln.Addr().String()
	g.client = &discovery.Client{BaseURL: g.url, HTTP: &http.Client{Timeout: 2 * time.Second}}
	e.serving.Go(func() { _ = g.srv.Serve(ln) })
	e.reg = g
	return nil
}

// discover makes a gateway cluster list its endpoints from the registry,
// after registering them and starting their heartbeats.
func (e *env) discover(cc *config.ClusterConfig) error {
	g := e.reg
	for _, ep := range cc.Endpoints {
		g.mu.Lock()
		g.inst[ep.ID] = registration{service: cc.Name, ep: ep}
		g.mu.Unlock()
		if err := g.up(ep.ID); err != nil {
			return err
		}
	}
	cc.Endpoints = nil
	cc.Discovery = &config.DiscoveryConfig{Type: "registry", URL: g.url, Service: cc.Name, Interval: config.Duration(scenarios.RegistryRefresh)}
	return nil
}

// up registers a replica and heartbeats for it until down.
func (g *registry) up(name string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	reg, ok := g.inst[name]
	if !ok || g.beats[name] != nil {
		return nil // not behind the gateway, or already heartbeating
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := g.client.Register(ctx, reg.service, discovery.Instance{Endpoint: reg.ep, TTL: g.ttl}); err != nil {
		cancel()
		return fmt.Errorf("register %s: %w", name, err)
	}
	g.beats[name] = cancel
	g.wg.Go(func() { g.heartbeat(ctx, reg) })
	return nil
}

// heartbeat renews a registration every hb until ctx ends; a registration
// that lapsed anyway (a heartbeat lost to a busy machine) is made again.
func (g *registry) heartbeat(ctx context.Context, reg registration) {
	t := time.NewTicker(g.hb)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := g.client.Heartbeat(ctx, reg.service, reg.ep.ID)
		if errors.Is(err, discovery.ErrNotFound) && ctx.Err() == nil {
			_, _ = g.client.Register(ctx, reg.service, discovery.Instance{Endpoint: reg.ep, TTL: g.ttl})
		}
	}
}

// down stops a replica's heartbeats, without deregistering: its
// registration lapses ttl after its last heartbeat.
func (g *registry) down(name string) {
	g.mu.Lock()
	cancel := g.beats[name]
	delete(g.beats, name)
	g.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// listed reports whether a replica is registered and alive now.
func (g *registry) listed(name string) bool {
	g.mu.Lock()
	reg := g.inst[name]
	g.mu.Unlock()
	for _, in := range g.store.List(time.Now(), reg.service) {
		if in.ID == name {
			return true
		}
	}
	return false
}

// close stops every heartbeat and the server.
func (g *registry) close() {
	g.mu.Lock()
	for name, cancel := range g.beats {
		cancel()
		delete(g.beats, name)
	}
	g.mu.Unlock()
	g.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = g.srv.Shutdown(ctx)
}
