package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/meshbench/meshbench/scenarios"
)

// gatewayNode names the gateway among the network's nodes; replicas are
// named by their instance name.
const gatewayNode = "gateway"

// network is the part of the scenario's network the local backend makes
// real: one toxiproxy (github.com/Shopify/toxiproxy/v2, run in-process on
// loopback) on every hop from a caller (the gateway, or a replica's
// sidecar) to a replica, so that latency can be added to a hop and hops can
// be cut by partitions. Each direction of a hop ends in a delayToxic (the
// hop's latency, or none), which keeps toxiproxy's stages from blocking
// when a connection dies mid-transfer. The network exists only when the
// plan needs it (see needsNetwork); otherwise callers dial replicas
// directly.
type network struct {
	id    uint64
	api   *toxiproxy.ApiServer
	links []*link
	// pipes counts the delay toxics still moving data, so that close can
	// wait for the last of them.
	pipes atomic.Int64
}

// networks finds a network by id for its delay toxics, which toxiproxy
// builds from JSON attributes and so cannot be handed a pointer.
var (
	networks  sync.Map // id → *network
	networkID atomic.Uint64
)

func networkByID(id uint64) *network {
	if n, ok := networks.Load(id); ok {
		return n.(*network)
	}
	return nil
}

// link is one hop, from a caller node to a replica, through a toxiproxy.
type link struct {
	net      *network
	from     string // gatewayNode or a replica's name
	fromZone string
	to       *replica
	p        *toxiproxy.Proxy
	addr     string // where the caller dials

	mu sync.Mutex
	up bool
}

// newNetwork makes the toxiproxy API of one local run. toxiproxy's server
// and proxies take a zerolog.Logger in their exported API (the module's
// newest release, v2.5.0, has no other), so zerolog stays a dependency,
// kept current, and is only ever given its no-op logger here.
func newNetwork() *network {
	n := &network{id: networkID.Add(1), api: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())}
	networks.Store(n.id, n)
	return n
}

// add puts a toxiproxy on the hop from → to and returns it, listening.
func (n *network) add(from, fromZone string, to *replica) (*link, error) {
	name := from + "->" + to.name
	p := toxiproxy.NewProxy(n.api, name, "127.0.0.1:0", to.addr)
	nop := zerolog.Nop()
	p.Logger = &nop
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("network hop %s: %w", name, err)
	}
	l := &link{net: n, from: from, fromZone: fromZone, to: to, p: p, addr: p.Listen, up: true}
	n.links = append(n.links, l)
	return l, nil
}

// to lists the hops into replica r.
func (n *network) to(r *replica) []*link {
	var out []*link
	for _, l := range n.links {
		if l.to == r {
			out = append(out, l)
		}
	}
	return out
}

// closeWait bounds how long close waits for the delay toxics to hand on
// what they hold (see flushGrace).
const closeWait = 2 * time.Second

// close stops every hop, closes its connections, and waits (a bounded
// time) for the delay toxics to finish, so that nothing of the run is left
// running.
func (n *network) close() {
	for _, l := range n.links {
		l.stop()
	}
	deadline := time.Now().Add(closeWait)
	for n.pipes.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	networks.Delete(n.id)
}

// stop closes the hop's listener and connections: callers are refused, as
// by the dead replica behind it.
func (l *link) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.up {
		l.p.Stop()
		l.up = false
	}
}

// start listens again on the hop's address.
func (l *link) start() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.up {
		return nil
	}
	if err := l.p.Start(); err != nil {
		return fmt.Errorf("network hop %s: restart: %w", l.p.Name, err)
	}
	l.up = true
	return nil
}

// toxic is one toxiproxy toxic as its JSON API spells it.
type toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float64        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// addToxic adds t to the hop; new and open connections get it.
func (l *link) addToxic(t toxic) error {
	t.Toxicity = 1
	if t.Type == delayToxicType {
		t.Attributes["net"] = l.net.id
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := l.p.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("network hop %s: toxic %s: %w", l.p.Name, t.Name, err)
	}
	return nil
}

// removeToxic removes the toxic called name, if present.
func (l *link) removeToxic(name string) {
	_ = l.p.Toxics.RemoveToxic(context.Background(), name)
}

// partitionToxic drops everything on one direction of a hop and holds the
// connection open (toxiproxy's timeout toxic with timeout 0): requests
// hang until the caller's timeouts, as across a real partition. Removing
// it closes the connections it held.
func partitionToxic(name, stream string) toxic {
	return toxic{Name: name, Type: "timeout", Stream: stream, Attributes: map[string]any{"timeout": 0}}
}

// minHopLatency is the smallest mean hop latency the network adds: less is
// what loopback and the proxies already cost.
const minHopLatency = time.Millisecond

// hopLatency is the latency the network adds on a hop of the given spec,
// or nil when its mean is under minHopLatency.
func hopLatency(spec scenarios.DistributionSpec) (*scenarios.DistributionSpec, error) {
	d, err := spec.Build()
	if err != nil {
		return nil, err
	}
	if d.Mean() < minHopLatency {
		return nil, nil
	}
	if err := checkDelay(spec); err != nil {
		return nil, err
	}
	return &spec, nil
}
