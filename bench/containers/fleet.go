package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	dnetwork "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/docker"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/scenarios"
)

// Fleet is a payment fleet running in Docker: one container per replica,
// all on one user-defined bridge network of the run, each publishing its
// port on 127.0.0.1 only. Close (or RemoveRun with its RunID) removes
// every container and the network.
type Fleet struct {
	// RunID is the value of LabelRun on everything the fleet started.
	RunID string
	// Image is the tag the containers run.
	Image string
	// Network is the name of the run's Docker network.
	Network string
	// HostAddr is the address of the host on the run's network (its
	// gateway): where containers reach listeners of this process, such as
	// the sidecars of the containers backend. The host itself only ever
	// dials 127.0.0.1.
	HostAddr netip.Addr
	// Replicas are the fleet's replicas, in Spec order.
	Replicas []*Replica
	// Downstream wires payments for Launch; see Spec.Downstream.
	Downstream func(r ReplicaSpec) DownstreamURLs
	// Partitions cuts the data plane's hops for partition faults (see
	// Timeline); nil: a timeline with a partition is refused.
	Partitions Partitioner

	cli      *testcontainers.DockerClient
	tr       *http.Transport // carries admin calls and probes, to 127.0.0.1 only
	admin    *http.Client
	parallel int
}

// Replica is one running container of the fleet.
type Replica struct {
	ReplicaSpec
	// ContainerID is Docker's id of the container.
	ContainerID string
	// HostPort is the port published on 127.0.0.1; it stays the same when
	// the container is stopped and started again.
	HostPort int
	// URL is the replica's base URL from the host: http://127.0.0.1:HostPort.
	URL string
}

// Endpoint is the replica's host:port on loopback, as discovery lists it.
func (r *Replica) Endpoint() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.HostPort)) }

// readyTimeout bounds how long one replica may take to answer /readyz.
const readyTimeout = 60 * time.Second

// StartFleet starts spec's replicas and returns when every one answers
// GET /readyz: Prepare, then Launch with spec.Downstream. On error, and
// when ctx is cancelled, everything started so far is removed before it
// returns. Errors from an unreachable daemon wrap ErrNoDocker.
func StartFleet(ctx context.Context, spec Spec) (*Fleet, error) {
	f, err := Prepare(ctx, spec)
	if err != nil {
		return nil, err
	}
	f.Downstream = spec.Downstream
	if err := f.Launch(ctx); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return f, nil
}

// Prepare readies a fleet without starting a container: it connects to
// Docker, makes sure the image exists (building it when spec.Image is
// empty), creates the run's network and gives every replica its published
// port. The caller may then bind listeners on HostAddr and point payments
// at them through Downstream before Launch. On error nothing is left
// behind.
func Prepare(ctx context.Context, spec Spec) (f *Fleet, err error) {
	cli, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	f = &Fleet{RunID: spec.RunID, Image: spec.Image, cli: cli, parallel: spec.Parallel, tr: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
	f.admin = &http.Client{Transport: f.tr, Timeout: 10 * time.Second}
	if f.RunID == "" {
		f.RunID = NewRunID()
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, f.Close())
			f = nil
		}
	}()
	if f.Image == "" {
		img, err := buildImage(ctx, cli, spec.ImageOptions)
		if err != nil {
			return f, err
		}
		f.Image = img.Tag
	}
	if err := f.createNetwork(ctx); err != nil {
		return f, err
	}
	ports, err := freePorts(len(spec.Replicas))
	if err != nil {
		return f, err
	}
	f.Replicas = make([]*Replica, len(spec.Replicas))
	for i, rs := range spec.Replicas {
		f.Replicas[i] = &Replica{ReplicaSpec: rs, HostPort: ports[i], URL: "http://127.0.0.1:" + strconv.Itoa(ports[i])}
	}
	return f, nil
}

// Launch starts every replica, Parallel at a time, and returns when all
// answer GET /readyz on their published ports (testcontainers-go's
// wait.ForHTTP; a scratch image has no shell for wait.ForListeningPort).
// A payments replica calls what Downstream gives it, or its peers by
// network alias when Downstream is nil. On error the caller removes the fleet (Close).
func (f *Fleet) Launch(ctx context.Context) error {
	for _, r := range f.Replicas {
		env := make(map[string]string, len(r.Env)+3)
		for k, v := range r.Env {
			env[k] = v
		}
		if r.Service == string(fleet.RolePayments) {
			d := DownstreamURLs{Risk: aliasURL(fleet.RoleRisk), Fraud: aliasURL(fleet.RoleFraud), Ledger: aliasURL(fleet.RoleLedger)}
			if f.Downstream != nil {
				d = f.Downstream(r.ReplicaSpec)
			}
			env["PAYMENTSVC_RISK_URL"], env["PAYMENTSVC_FRAUD_URL"], env["PAYMENTSVC_LEDGER_URL"] = d.Risk, d.Fraud, d.Ledger
			if len(d.GRPC) > 0 {
				callees := make([]string, len(d.GRPC))
				for i, c := range d.GRPC {
					callees[i] = string(c)
				}
				env["PAYMENTSVC_GRPC_CALLEES"] = strings.Join(callees, ",")
			}
		}
		r.Env = env
	}
	return f.startAll(ctx, f.parallel)
}

// aliasURL is a role's base URL on the run's network, by network alias.
func aliasURL(role fleet.Role) string {
	return "http://" + string(role) + ":" + strconv.Itoa(docker.Port)
}

// createNetwork creates the run's bridge network with testcontainers-go
// and finds its gateway, the host's address on it.
func (f *Fleet) createNetwork(ctx context.Context) error {
	nw, err := network.New(ctx, network.WithLabels(map[string]string{LabelRun: f.RunID}))
	if err != nil {
		return fmt.Errorf("create network: %w", err)
	}
	f.Network = nw.Name
	insp, err := f.cli.NetworkInspect(ctx, nw.ID, client.NetworkInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspect network %s: %w", nw.Name, err)
	}
	for _, c := range insp.Network.IPAM.Config {
		if c.Gateway.Is4() {
			f.HostAddr = c.Gateway
			return nil
		}
	}
	return fmt.Errorf("network %s has no IPv4 gateway", nw.Name)
}

// startAll starts the replicas, at most parallel at once.
func (f *Fleet) startAll(ctx context.Context, parallel int) error {
	if parallel <= 0 {
		parallel = 8
	}
	sem := make(chan struct{}, parallel)
	errs := make([]error, len(f.Replicas))
	var wg sync.WaitGroup
	for i, r := range f.Replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			errs[i] = f.start(ctx, r)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		// The replicas' errors all say the same; one is enough.
		return fmt.Errorf("start fleet %s: interrupted: %w", f.RunID, err)
	}
	return errors.Join(errs...)
}

// start creates and starts one replica's container and waits until it is
// ready.
func (f *Fleet) start(ctx context.Context, r *Replica) error {
	port := dnetwork.MustParsePort(strconv.Itoa(docker.Port) + "/tcp")
	req := testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        f.Image,
			Name:         containerName(f.RunID, r.Service, r.Index),
			Env:          r.Env,
			ExposedPorts: []string{port.String()},
			Labels: map[string]string{
				LabelRun:     f.RunID,
				LabelService: r.Service,
				LabelReplica: strconv.Itoa(r.Index),
				LabelName:    r.Name(),
				LabelPort:    strconv.Itoa(r.HostPort),
			},
			Networks:       []string{f.Network},
			NetworkAliases: map[string][]string{f.Network: {r.Service, fmt.Sprintf("%s-%d", r.Service, r.Index)}},
			HostConfigModifier: func(hc *container.HostConfig) {
				// Published on loopback only, on a port chosen up front so
				// that a stopped and restarted replica keeps its address.
				hc.PortBindings = dnetwork.PortMap{port: {{HostIP: netip.AddrFrom4([4]byte{127, 0, 0, 1}), HostPort: strconv.Itoa(r.HostPort)}}}
			},
			// Connection: close, so that the probe's client leaves no idle
			// connection (and no goroutine) behind.
			WaitingFor: wait.ForHTTP("/readyz").WithPort(port.String()).
				WithHeaders(map[string]string{"Connection": "close"}).
				WithPollInterval(50 * time.Millisecond).
				WithStartupTimeout(readyTimeout),
		},
		Started: true,
		Logger:  tclog.NewNoopLogger(),
	}
	ctr, err := testcontainers.GenericContainer(ctx, req)
	if ctr != nil {
		r.ContainerID = ctr.GetContainerID()
	}
	if err != nil {
		return fmt.Errorf("start %s: %w%s", r.Name(), err, f.logTail(r.ContainerID))
	}
	return nil
}

// containerName is a replica's container name: meshbench-<run>-<service>-<i>.
func containerName(run, service string, i int) string {
	return fmt.Sprintf("meshbench-%s-%s-%d", run, service, i)
}

// logTail returns the end of a container's output, for an error message.
func (f *Fleet) logTail(id string) string {
	if id == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc, err := f.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "10"})
	if err != nil {
		return ""
	}
	defer rc.Close()
	raw, _ := io.ReadAll(io.LimitReader(rc, 8<<10))
	// The stream is multiplexed: 8-byte frame headers before each chunk.
	var b strings.Builder
	for len(raw) >= 8 {
		n := int(raw[4])<<24 | int(raw[5])<<16 | int(raw[6])<<8 | int(raw[7])
		raw = raw[8:]
		n = min(n, len(raw))
		b.Write(raw[:n])
		raw = raw[n:]
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		return "; container output: " + strings.ReplaceAll(s, "\n", " | ")
	}
	return ""
}

// freePorts picks n distinct free TCP ports on 127.0.0.1 for Docker to
// publish the replicas on, below the kernel's range of ephemeral ports
// (ephemeralFloor). A port from that range, free when picked, is also what
// the kernel hands the next outgoing connection as its source port: a run
// that opens connections fast (a collapsing one, whose timed-out tries
// reconnect through Docker's proxies) took one between the pick and
// Docker's bind, and the replica's start failed with "address already in
// use" (seen on a restart 2026-12-07). Below the range only a listener
// that binds the port itself can take it. Each port is bound while the
// others are picked, so the n are distinct; without a range below to pick
// from, the kernel's port 0 as before.
func freePorts(n int) ([]int, error) {
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	lo, hi := portsBelow(ephemeralFloor())
	ports := make([]int, n)
	for i := range ports {
		ln, err := listenBelow(lo, hi)
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// Published ports are picked in [publishFloor, the ephemeral range's
// floor): above the well-known and commonly configured ports.
const publishFloor = 10000

// ephemeralFloor is the lowest port of the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range; Linux's default is 32768), or 0
// when it cannot be read.
func ephemeralFloor() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return lo
}

// portsBelow is the range [lo, hi) to pick published ports from below an
// ephemeral range starting at floor; empty (0, 0) when there is none
// worth picking from.
func portsBelow(floor int) (lo, hi int) {
	if floor-publishFloor < 1000 {
		return 0, 0
	}
	return publishFloor, floor
}

// listenBelow binds a free port on 127.0.0.1 in [lo, hi), tried at random
// (a run's replicas then rarely try each other's ports), or port 0 when the
// range is empty or a few hundred tries find none free.
func listenBelow(lo, hi int) (net.Listener, error) {
	for range 256 {
		if hi <= lo {
			break
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(lo+rand.IntN(hi-lo))))
		if err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// Replica returns replica i of service, or nil.
func (f *Fleet) Replica(service string, i int) *Replica {
	for _, r := range f.Replicas {
		if r.Service == service && r.Index == i {
			return r
		}
	}
	return nil
}

// Endpoints lists every service's replicas as the data plane on the host
// reaches them: their published ports on 127.0.0.1, named by replica
// ("payments[2]"), with their zones.
func (f *Fleet) Endpoints() map[string][]discovery.Endpoint {
	eps := map[string][]discovery.Endpoint{}
	for _, r := range f.Replicas {
		eps[r.Service] = append(eps[r.Service], discovery.Endpoint{ID: r.Name(), Address: r.Endpoint(), Zone: r.Zone})
	}
	return eps
}

// Service lists the replicas of service, by index.
func (f *Fleet) Service(service string) []*Replica {
	var out []*Replica
	for _, r := range f.Replicas {
		if r.Service == service {
			out = append(out, r)
		}
	}
	return out
}

// Targets resolves a scenario fault target to the fleet's replicas.
func (f *Fleet) Targets(t scenarios.Target) []*Replica {
	var out []*Replica
	for _, r := range f.Replicas {
		switch {
		case t.Service == "" && r.Zone != t.Zone,
			t.Service != "" && r.Service != t.Service,
			t.Replica != scenarios.AllReplicas && r.Index != t.Replica:
			continue
		}
		out = append(out, r)
	}
	return out
}

// cleanupTimeout bounds Close, which runs on a fresh context: it must
// finish after Ctrl-C has cancelled the run's.
const cleanupTimeout = 60 * time.Second

// Close removes every container and the network of the fleet's run (found
// by label, so containers whose start failed halfway are removed too) and
// closes the Docker client. It uses a fresh context, so that it also
// cleans up after a cancelled run.
func (f *Fleet) Close() error {
	if f == nil || f.cli == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, err := removeRun(ctx, f.cli, f.RunID)
	cerr := f.cli.Close()
	f.tr.CloseIdleConnections()
	f.cli = nil
	return errors.Join(err, cerr)
}

// Detach lets the fleet's containers run on after this process: it closes
// the Docker client and connections without removing anything. `meshbench
// fleet up` detaches; RemoveRun with the fleet's RunID removes it later.
func (f *Fleet) Detach() error {
	if f == nil || f.cli == nil {
		return nil
	}
	err := f.cli.Close()
	f.tr.CloseIdleConnections()
	f.cli = nil
	return err
}
