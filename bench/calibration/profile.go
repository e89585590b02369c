// Package calibration holds meshbench's calibration profile: what a hop of
// the real backends costs on one machine, as `meshbench calibrate` measured
// it (bench/calibration/measure), in a versioned YAML file that the
// simulator reads to charge those costs on every hop (sim/calibration.go).
//
// The profile is documented key by key in docs/calibration.md. This
// package only reads, writes and validates it, and gathers the machine's
// facts; it imports nothing that imports net/http, so that the simulator
// may use it.
package calibration

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/meshbench/meshbench/proxy/config"
)

// Schema names the profile format and its version. A file of another
// schema is refused.
const Schema = "meshbench.calibration/v1"

// The backends a profile may have a section for.
const (
	BackendLocal      = "local"
	BackendContainers = "containers"
)

// Profile is one calibration of one machine.
type Profile struct {
	// Schema is always Schema.
	Schema string `yaml:"schema"`
	// Machine are the facts of the machine measured; a profile applies
	// only on a machine with the same facts (Machine.Differs).
	Machine Machine `yaml:"machine"`
	// Measured says how the figures were measured.
	Measured Measured `yaml:"measured"`
	// Backends holds one section per real backend measured.
	Backends Backends `yaml:"backends"`
}

// Measured describes the measurement.
type Measured struct {
	// At is when the measurement ended (UTC, RFC 3339).
	At string `yaml:"at"`
	// Quick is true for a profile measured with --quick: fewer requests,
	// wider error.
	Quick bool `yaml:"quick"`
	// Rate is the load of every phase, requests per second.
	Rate int `yaml:"rate"`
	// Requests is how many requests each phase sent.
	Requests int `yaml:"requests"`
	// ServiceTime is the replica's constant service time during the
	// measurement (it is subtracted from the replica's figures).
	ServiceTime config.Duration `yaml:"serviceTime"`
	// OtherCores (optional: profiles written before it lack it) is the
	// mean CPU, in cores, that the rest of the machine spent while the
	// local phases and the local mesh at Rate ran: other processes, and
	// the kernel's interrupt work, a few hundredths of a core of it for
	// the measurement's own loopback traffic. A busy neighbour there
	// lands in every figure (Disturbed).
	OtherCores *float64 `yaml:"otherCores,omitempty"`
	// StealCores (optional: profiles written before it lack it) is the
	// mean time, in cores, that the hypervisor ran other guests while a
	// core of this VM wanted to run, over the same window as OtherCores:
	// a neighbour on the host that no process here shows, and that
	// stretches every latency measured meanwhile (Disturbed). 0 on bare
	// metal.
	StealCores *float64 `yaml:"stealCores,omitempty"`
}

// DisturbedCores is the OtherCores and StealCores together from which a
// profile counts as measured on a busy machine.
const DisturbedCores = 0.25

// Busy says whether other processes' CPU and the hypervisor's steal, in
// mean cores over a measurement, together make it one taken on a busy
// machine: the rule for a profile (Disturbed) and for a real run
// (bench.CPU.Disturbed) alike.
func Busy(other, steal float64) bool { return other+steal >= DisturbedCores }

// Local mesh scales outside [disturbedScaleLow, disturbedScaleHigh]
// mean the flow took far longer (or shorter) than its parts, measured
// a minute earlier, account for: on the project's VMs a quiet machine's
// scale was 0.7–1.2, one measured while a neighbour was busy 3.17.
const (
	disturbedScaleLow  = 0.5
	disturbedScaleHigh = 2.0
)

// Disturbed says why the profile's figures are likely biased by what
// else ran on the machine while it was measured, or "" when nothing
// says so: other processes' CPU and the hypervisor's steal together over
// DisturbedCores, or a local mesh scale far from 1. Such a profile still
// loads; calibrate and run warn.
func (p *Profile) Disturbed() string {
	var why []string
	var other, steal float64
	if o := p.Measured.OtherCores; o != nil {
		other = *o
	}
	if st := p.Measured.StealCores; st != nil {
		steal = *st
	}
	if Busy(other, steal) {
		var took []string
		if other > 0 {
			took = append(took, fmt.Sprintf("other processes used %.2f cores", other))
		}
		if steal > 0 {
			took = append(took, fmt.Sprintf("the hypervisor ran other guests for %.2f cores (steal)", steal))
		}
		why = append(why, strings.Join(took, " and ")+" while it measured")
	}
	if l := p.Backends.Local; l != nil && l.Mesh != nil {
		if s := l.Mesh.Scale; s > 0 && (s < disturbedScaleLow || s > disturbedScaleHigh) {
			why = append(why, fmt.Sprintf("its mesh took ×%.2f what the per-hop figures predict (%.1f–%.1f on a quiet machine)", s, disturbedScaleLow, disturbedScaleHigh))
		}
	}
	return strings.Join(why, "; ")
}

// Backends are the per-backend sections.
type Backends struct {
	// Local is the local backend: the real proxy and fleet on loopback.
	// Required.
	Local *Local `yaml:"local"`
	// Containers is the containers backend's extra cost over Local: the
	// Docker published port and bridge on every hop into a replica.
	// Optional (absent when Docker was not available or --backend local).
	Containers *Containers `yaml:"containers,omitempty"`
}

// Local is what a hop costs on the local backend.
type Local struct {
	// Client is the load generator's own latency per request: its HTTP
	// client (net/http, as vegeta's) minus a minimal HTTP/1.1 client, to
	// the same replica.
	Client *Dist `yaml:"client"`
	// Lag is the load generator's schedule lag on an open-loop request:
	// how late after its intended send time a worker starts sending it
	// (the pacer's timer firing late, the hand-off to a worker). A real
	// backend's latency counts from the intended time (bench/load), so
	// the lag is part of every measured latency, once per client
	// request. Optional: a profile written before it charges none.
	Lag *Dist `yaml:"lag,omitempty"`
	// Replica is a direct hop into a fleet replica minus its service
	// time: loopback both ways, the replica's HTTP server, its timer's
	// lateness.
	Replica *Dist `yaml:"replica"`
	// Payments is the payment role's own latency beyond its service time
	// and its calls (its idempotency store, the fan-out to risk and
	// fraud, the ledger's write beyond a plain replica's): the real
	// payment flow measured directly, minus a replica hop and two calls by
	// net/http (a stage of parallel risk and fraud, then the ledger).
	Payments *Dist `yaml:"payments"`
	// Hops are the latency the proxy adds per hop (proxied minus direct to
	// the same replica), by the proxy's path.
	Hops *Hops `yaml:"hops"`
	// GRPCClient is what a gRPC call costs more than the minimal
	// HTTP/1.1 client's request to the same replica: the fleet's gRPC
	// client (as the load generator's and the replicas' for services of
	// protocol grpc) and the replica's gRPC serving. Optional: a profile
	// written before it charges client for gRPC calls too.
	GRPCClient *Dist `yaml:"grpcClient,omitempty"`
	// Handshake is the CPU time a new connection under mutual TLS costs
	// the machine, both ends together: its TLS 1.3 handshake (ECDSA
	// P-256 SVIDs, both ends' signatures and chain checks), its dial and
	// accept, its goroutines and buffers, and the close of the
	// connection it replaces, measured as tries over fresh connections
	// against tries over pooled ones (profiles written before that
	// measured the handshake alone). Optional: without it the simulator
	// charges its own figure (sim/hopcost.go's HandshakeCost, measured on
	// another machine).
	Handshake *config.Duration `yaml:"handshake,omitempty"`
	// Host is the CPU time per request of each component (see Host).
	Host *Host `yaml:"host"`
	// Mesh (optional) is the mesh phase's latency and the scale it sets
	// on every latency figure above (see MeshLatency). Absent, the
	// figures are charged as measured.
	Mesh *MeshLatency `yaml:"mesh,omitempty"`
}

// MeshLatency is what the mesh phase measured of latency: the library's
// payment flow on the local backend at the calibration's rate, against
// the simulator's prediction of the same flow from this section's
// figures. Each figure was measured with its component alone in the
// process, where every request wakes parked threads; in a whole mesh
// threads are awake more often and a hop costs less (docs/calibration.md,
// the mesh phase).
type MeshLatency struct {
	// Rate (optional, the containers section's only) is the flow's
	// requests per second when it is not the calibration's: a machine
	// whose containers backend is past its knee at the calibration's rate
	// is measured at half of it (measure's containersMesh).
	Rate int `yaml:"rate,omitempty"`
	// P50 and P99 are the flow's measured latency quantiles.
	P50 config.Duration `yaml:"p50"`
	P99 config.Duration `yaml:"p99"`
	// Predicted is the simulator's median for the flow with the figures
	// as measured (scale 1) and the host model of the machine's cores.
	Predicted config.Duration `yaml:"predicted"`
	// Scale multiplies every latency figure of the section (client, lag,
	// replica, payments, hops, grpcClient) where the simulator charges
	// it: the factor, within 0.1–4, at which the simulator's median of
	// the flow is P50.
	Scale float64 `yaml:"scale"`
	// Curve (optional, the local section's only) is the same at more than
	// one rate, by increasing rate, the first the calibration's: as the
	// machine fills, a real process's latency grows faster than the host
	// model's processor sharing stretches its CPU (a woken thread waits
	// its turn for a core; garbage is collected more often), and the
	// scale that makes the simulator's median the measured one grows with
	// the rate. With a host model the simulator charges the figures times
	// the curve's scale at the host's current job rate, in place of Scale
	// (sim/calibration.go); absent, Scale alone.
	Curve []LatencyPoint `yaml:"curve,omitempty"`
}

// MaxCurveScale bounds a latency curve point's scale: near the knee a
// real process's hops cost several times what they cost at the
// calibration's rate (on a 2-core AMD VM, 2026-12-07, the payment flow's
// median was 11.2 ms at 400/s and 19.9 ms at 1000/s, where the
// simulator's host model gave 11.7 ms with the figures as measured: a
// scale of 6.09), but a factor above this is a broken measurement, not a
// machine.
const MaxCurveScale = 16

// LatencyPoint is the mesh phase's latency at one rate.
type LatencyPoint struct {
	// Rate is the payment flow's requests per second; Jobs the CPU jobs
	// per second the host model runs for it (as ScalePoint's).
	Rate int `yaml:"rate"`
	Jobs int `yaml:"jobs"`
	// P50, P99 and Predicted are MeshLatency's, at Rate.
	P50       config.Duration `yaml:"p50"`
	P99       config.Duration `yaml:"p99"`
	Predicted config.Duration `yaml:"predicted"`
	// Scale is the factor on the section's figures at which the
	// simulator's median of the flow at Rate is P50, within
	// 0.1–MaxCurveScale.
	Scale float64 `yaml:"scale"`
}

// LatencyScale is the factor the simulator applies to the section's
// latency figures: the mesh phase's scale, or 1 without one.
func (l *Local) LatencyScale() float64 {
	if l == nil || l.Mesh == nil || l.Mesh.Scale <= 0 {
		return 1
	}
	return l.Mesh.Scale
}

// Hops are the proxy's added latency per hop, by path.
type Hops struct {
	// Fast is the proxy's HTTP/1.1 fast path (plain-text cluster, no
	// middlewares or hedging; proxy/fastpath.go).
	Fast *Dist `yaml:"fast"`
	// General is the general path (net/http's types; any route the fast
	// path does not take).
	General *Dist `yaml:"general"`
	// MTLS is the general path to an upstream behind mutual TLS, on kept
	// connections (an https cluster never takes the fast path). The
	// handshakes of new connections are the simulator's own model
	// (sim/hopcost.go) and not part of it.
	MTLS *Dist `yaml:"mtls"`
	// GRPC is the proxy's hop for a gRPC call: a cluster of protocol h2c,
	// the call a stream on a shared HTTP/2 connection (proxied minus direct
	// with the same gRPC client). Optional: a profile written before it
	// charges General for h2c clusters.
	GRPC *Dist `yaml:"grpc,omitempty"`
	// Hit is an answer from a route's response cache: the round trip of a
	// GET the gateway answers itself (the minimal client's, as the
	// replica's figure holds it), which the simulator charges after the
	// client's cost. Optional: a profile written before it charges
	// General for a hit.
	Hit *Dist `yaml:"hit,omitempty"`
}

// Containers is the containers backend's extra cost.
type Containers struct {
	// Hop is what a hop into a replica costs more through the Docker
	// published port and bridge than on loopback: direct to a replica in a
	// container minus direct to the same replica in process.
	Hop *Dist `yaml:"hop"`
	// Call is what a call a replica in a container makes through its
	// sidecar on the host costs more than the same call in process: the
	// way out of the container (its network namespace, the bridge, the
	// host's stack) and the container's own runtime, per call, beyond
	// the Hop into the callee. It is half of what the payment flow in a
	// container (two stages of calls) costs more than in process, once
	// its hop into payments is taken off. Optional: a profile written
	// before it charges nothing for it.
	Call *Dist `yaml:"call,omitempty"`
	// Host is the CPU time per request on the containers backend.
	Host *Host `yaml:"host"`
	// Mesh (optional) is the payment flow's latency on the containers
	// backend, the simulator's median of it with Hop and Call as measured,
	// and the factor on Hop and Call at which its median is the measured
	// one (the local section's figures, scaled by its own mesh, as they
	// are). Absent, Hop and Call are charged as measured.
	Mesh *MeshLatency `yaml:"mesh,omitempty"`
}

// ExtraScale is the factor the simulator applies to Hop and Call: the
// containers mesh's scale, or 1 without one.
func (c *Containers) ExtraScale() float64 {
	if c == nil || c.Mesh == nil || c.Mesh.Scale <= 0 {
		return 1
	}
	return c.Mesh.Scale
}

// Host is the machine's share between components, in the shape of the
// scenario's host: key (the simulator's host model), so that it can be
// taken from the profile: {cores: 2, cpu: {client: 25us, ...}}.
type Host struct {
	// Cores are the machine's cores.
	Cores int `yaml:"cores"`
	// CPU is each component's CPU time per request.
	CPU *HostCPU `yaml:"cpu"`
}

// HostCPU is CPU time per request by component.
type HostCPU struct {
	Client  *config.Duration `yaml:"client"`
	Gateway *config.Duration `yaml:"gateway"`
	Sidecar *config.Duration `yaml:"sidecar"`
	Replica *config.Duration `yaml:"replica"`
	// GRPCProxy (optional) is a proxy's CPU per gRPC request over h2c:
	// the grpc phase's CPU per request less grpc-direct's.
	GRPCProxy *config.Duration `yaml:"grpcProxy,omitempty"`
	// GRPCCall (optional) is what a gRPC call costs its client and server
	// beyond the minimal HTTP/1.1 request: grpc-direct's CPU per request
	// less direct's.
	GRPCCall *config.Duration `yaml:"grpcCall,omitempty"`
	// Mesh (optional) is a whole mesh's CPU per request on this backend:
	// the library's payment flow (gateway, sidecars, payments calling
	// three services) at the calibration's rate (measure's mesh phase),
	// read from the process that runs every component (local) or from
	// the whole machine (containers: every replica's process, Docker's
	// proxies and the kernel's bridge).
	Mesh *config.Duration `yaml:"mesh,omitempty"`
	// Scale (optional) is Mesh over the sum of the figures above for the
	// same request (client + gateway + 4 replicas + 3 sidecars): what the
	// components spend together against what each spends alone. The
	// simulator charges every figure times Scale; absent, 1.
	Scale float64 `yaml:"scale,omitempty"`
	// Curve (optional) is the mesh phase at more than one rate, by
	// increasing rate: a process's CPU per request falls as its event
	// rate rises (more requests find a thread awake, more work is
	// batched), so a single Scale, measured at the calibration's rate,
	// overcharges a run at twice it. The simulator's host model charges
	// each job times the curve's scale at the host's current job rate
	// over Scale (sim/host.go); absent, Scale alone.
	Curve []ScalePoint `yaml:"curve,omitempty"`
}

// ScalePoint is the mesh phase at one rate.
type ScalePoint struct {
	// Rate is the payment flow's requests per second.
	Rate int `yaml:"rate"`
	// Jobs is the CPU jobs per second the simulator's host model runs for
	// the flow at Rate: each request's client, gateway, four replicas
	// and three sidecars.
	Jobs int `yaml:"jobs"`
	// Mesh is the process's CPU per request at Rate.
	Mesh config.Duration `yaml:"mesh"`
	// Scale is Mesh over the components' sum, as HostCPU.Scale.
	Scale float64 `yaml:"scale"`
}

// Scaled is d times Scale (d itself without a Scale).
func (c *HostCPU) Scaled(d time.Duration) time.Duration {
	if c.Scale <= 0 {
		return d
	}
	return time.Duration(float64(d) * c.Scale)
}

// Section returns the profile's section for the hop costs the simulator
// charges when it predicts backend: the local section, with the
// containers' extra costs when backend is containers (nil on local). ok is
// false when the profile has no section for backend.
func (p *Profile) Section(backend string) (local *Local, extra *Containers, ok bool) {
	switch backend {
	case BackendLocal:
		return p.Backends.Local, nil, p.Backends.Local != nil
	case BackendContainers:
		if p.Backends.Containers == nil {
			return nil, nil, false
		}
		return p.Backends.Local, p.Backends.Containers, true
	}
	return nil, nil, false
}

// Load reads, decodes and validates the profile at path. Errors name the
// file, line, column and key path.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("calibration profile: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a profile; name is used in errors.
func Parse(name string, data []byte) (*Profile, error) {
	// The schema first: a file of another schema or version is refused
	// before its keys are checked against this one.
	var head struct {
		Schema string `yaml:"schema"`
	}
	_ = yaml.Unmarshal(data, &head)
	if head.Schema != Schema {
		err := &config.ConfigError{Path: "schema", Err: fmt.Errorf("want %q, got %q: not a calibration profile this meshbench reads (make one with `meshbench calibrate`)", Schema, head.Schema)}
		return nil, config.LocateErrors(name, data, err)
	}
	var p Profile
	if err := config.DecodeYAML(name, data, &p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, config.LocateErrors(name, data, err)
	}
	return &p, nil
}

// Marshal writes the profile as YAML, with a header comment.
func (p *Profile) Marshal() ([]byte, error) {
	b, err := yaml.MarshalWithOptions(p, yaml.Indent(2))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString("# meshbench calibration profile, written by `meshbench calibrate`.\n")
	out.WriteString("# Every key is documented in docs/calibration.md.\n")
	out.Write(b)
	return out.Bytes(), nil
}

// Validate reports every problem of the profile together, each a
// *config.ConfigError with its key path.
func (p *Profile) Validate() error {
	var errs []error
	bad := func(path, format string, a ...any) {
		errs = append(errs, &config.ConfigError{Path: path, Err: fmt.Errorf(format, a...)})
	}
	if p.Schema != Schema {
		bad("schema", "want %q, got %q", Schema, p.Schema)
	}
	m := p.Machine
	if m.CPU == "" {
		bad("machine.cpu", "missing")
	}
	if m.Cores <= 0 {
		bad("machine.cores", "missing or not positive")
	}
	if m.OS == "" {
		bad("machine.os", "missing")
	}
	if m.Host == "" {
		bad("machine.host", "missing")
	}
	if p.Measured.Requests <= 0 {
		bad("measured.requests", "missing or not positive")
	}
	if o := p.Measured.OtherCores; o != nil && (math.IsNaN(*o) || *o < 0 || (m.Cores > 0 && *o > float64(m.Cores))) {
		bad("measured.otherCores", "%v is not between 0 and the machine's %d cores", *o, m.Cores)
	}
	if st := p.Measured.StealCores; st != nil && (math.IsNaN(*st) || *st < 0 || (m.Cores > 0 && *st > float64(m.Cores))) {
		bad("measured.stealCores", "%v is not between 0 and the machine's %d cores", *st, m.Cores)
	}
	l := p.Backends.Local
	if l == nil {
		bad("backends.local", "missing")
	} else {
		checkDist(bad, "backends.local.client", l.Client)
		checkDist(bad, "backends.local.replica", l.Replica)
		checkDist(bad, "backends.local.payments", l.Payments)
		if l.Hops == nil {
			bad("backends.local.hops", "missing")
		} else {
			checkDist(bad, "backends.local.hops.fast", l.Hops.Fast)
			checkDist(bad, "backends.local.hops.general", l.Hops.General)
			checkDist(bad, "backends.local.hops.mtls", l.Hops.MTLS)
			if l.Hops.Hit != nil {
				checkDist(bad, "backends.local.hops.hit", l.Hops.Hit)
			}
			if l.Hops.GRPC != nil {
				checkDist(bad, "backends.local.hops.grpc", l.Hops.GRPC)
			}
		}
		if l.Lag != nil {
			checkDist(bad, "backends.local.lag", l.Lag)
		}
		if l.GRPCClient != nil {
			checkDist(bad, "backends.local.grpcClient", l.GRPCClient)
		}
		if l.Handshake != nil && *l.Handshake <= 0 {
			bad("backends.local.handshake", "not positive: %s", l.Handshake)
		}
		checkHost(bad, "backends.local.host", l.Host)
		checkMesh(bad, "backends.local.mesh", l.Mesh)
		if l.Mesh != nil && l.Mesh.Rate != 0 {
			bad("backends.local.mesh.rate", "the local mesh is measured at the calibration's rate (its curve has the others)")
		}
	}
	if c := p.Backends.Containers; c != nil {
		checkDist(bad, "backends.containers.hop", c.Hop)
		if c.Call != nil {
			checkDist(bad, "backends.containers.call", c.Call)
		}
		checkHost(bad, "backends.containers.host", c.Host)
		checkMesh(bad, "backends.containers.mesh", c.Mesh)
		if c.Mesh != nil && len(c.Mesh.Curve) > 0 {
			bad("backends.containers.mesh.curve", "the containers mesh is measured at one rate: no curve")
		}
		if c.Mesh != nil && c.Mesh.Rate < 0 {
			bad("backends.containers.mesh.rate", "%d is negative", c.Mesh.Rate)
		}
	}
	return errors.Join(errs...)
}

func checkMesh(bad func(string, string, ...any), path string, m *MeshLatency) {
	if m == nil {
		return
	}
	checkLatencies(bad, path, m.P50, m.P99, m.Predicted)
	if m.P99 > 0 && m.P99 < m.P50 {
		bad(path+".p99", "%s is below p50 %s", m.P99, m.P50)
	}
	if s := m.Scale; s < 0.1 || s > 4 || math.IsNaN(s) {
		bad(path+".scale", "%g is outside 0.1–4", s)
	}
	c := m.Curve
	if len(c) == 1 {
		bad(path+".curve", "one point: a curve needs two or more")
	}
	var prev [2]int
	for i, pt := range c {
		at := fmt.Sprintf("%s.curve[%d]", path, i)
		checkRate(bad, at, pt.Rate, pt.Jobs, &prev)
		checkLatencies(bad, at, pt.P50, pt.P99, pt.Predicted)
		if s := pt.Scale; s < 0.1 || s > MaxCurveScale || math.IsNaN(s) {
			bad(at+".scale", "%g is outside 0.1–%d", s, MaxCurveScale)
		}
	}
}

// checkLatencies refuses a mesh latency's p50, p99 or predicted at path
// that is missing or not positive.
func checkLatencies(bad func(string, string, ...any), path string, p50, p99, predicted config.Duration) {
	for _, f := range []struct {
		name string
		d    config.Duration
	}{{"p50", p50}, {"p99", p99}, {"predicted", predicted}} {
		if f.d <= 0 {
			bad(path+"."+f.name, "missing or not positive")
		}
	}
}

// checkRate checks a curve point's rate and jobs per second at path:
// both positive, and above the point before's, prev (zero before the
// first point), which it then sets to them.
func checkRate(bad func(string, string, ...any), path string, rate, jobs int, prev *[2]int) {
	if rate <= 0 || jobs <= 0 {
		bad(path, "rate %d, jobs %d: both must be positive", rate, jobs)
	} else if rate <= prev[0] || jobs <= prev[1] {
		bad(path, "rate %d, jobs %d: not above the point before's (%d, %d)", rate, jobs, prev[0], prev[1])
	}
	*prev = [2]int{rate, jobs}
}

func checkHost(bad func(string, string, ...any), path string, h *Host) {
	if h == nil {
		bad(path, "missing")
		return
	}
	if h.Cores <= 0 {
		bad(path+".cores", "missing or not positive")
	}
	if h.CPU == nil {
		bad(path+".cpu", "missing")
		return
	}
	for _, f := range []struct {
		name string
		d    *config.Duration
	}{{"client", h.CPU.Client}, {"gateway", h.CPU.Gateway}, {"sidecar", h.CPU.Sidecar}, {"replica", h.CPU.Replica}} {
		switch {
		case f.d == nil:
			bad(path+".cpu."+f.name, "missing")
		case *f.d < 0:
			bad(path+".cpu."+f.name, "negative: %s", f.d)
		}
	}
	for _, f := range []struct {
		name string
		d    *config.Duration
	}{{"grpcProxy", h.CPU.GRPCProxy}, {"grpcCall", h.CPU.GRPCCall}} {
		if f.d != nil && *f.d < 0 {
			bad(path+".cpu."+f.name, "negative: %s", f.d)
		}
	}
	if h.CPU.Mesh != nil && *h.CPU.Mesh < 0 {
		bad(path+".cpu.mesh", "negative: %s", h.CPU.Mesh)
	}
	// A whole mesh cheaper than a tenth of its parts, or dearer than
	// four times them, is a broken measurement, not a machine.
	if s := h.CPU.Scale; s != 0 && (s < 0.1 || s > 4 || math.IsNaN(s)) {
		bad(path+".cpu.scale", "%g is outside 0.1–4", s)
	}
	if c := h.CPU.Curve; len(c) > 0 {
		if len(c) < 2 {
			bad(path+".cpu.curve", "one point: a curve needs two or more")
		}
		if h.CPU.Scale == 0 {
			bad(path+".cpu.curve", "a curve without a scale")
		}
		var prev [2]int
		for i, pt := range c {
			at := fmt.Sprintf("%s.cpu.curve[%d]", path, i)
			checkRate(bad, at, pt.Rate, pt.Jobs, &prev)
			if pt.Mesh <= 0 {
				bad(at+".mesh", "missing or not positive")
			}
			if s := pt.Scale; s < 0.1 || s > 4 || math.IsNaN(s) {
				bad(at+".scale", "%g is outside 0.1–4", s)
			}
		}
	}
}

// D is a convenience for a *config.Duration of d.
func D(d time.Duration) *config.Duration {
	c := config.Duration(d)
	return &c
}
