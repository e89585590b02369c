package scenarios

import (
	"fmt"
	"time"
)

// Host is the machine the real backends run on, as the simulator models
// it: the load generator, the gateway, the sidecars and the fleet's
// replicas share cores, and each spends CPU time on every request it
// handles. With a host block the simulator runs that CPU work as jobs
// sharing the cores by processor sharing (sim/host.go), so a run shows
// where the machine gives out, not only where the services do. Without one
// the simulator's components cost no CPU, as before. The real backends
// ignore it: they have the machine itself.
type Host struct {
	// Cores is how many cores the machine has for the load generator, the proxies and the fleet together; at least 1.
	Cores int `json:"cores" jsonschema:"required,minimum=1,maximum=4096"`
	// CPU is the CPU time per request of each component (default 0 each: free).
	CPU HostCPU `json:"cpu"`
}

// HostCPU is the CPU time each component spends on one request. A replica's
// serviceTime is waiting, not CPU: the fleet sleeps it (bench/fleet), as a
// service waits on its database; replica is the CPU of handling the
// request around that wait (HTTP, JSON, making its calls).
type HostCPU struct {
	// Client is the load generator's CPU per request it sends (and whose answer it reads).
	Client time.Duration `json:"client"`
	// Gateway is the gateway's CPU per client request it takes (routing, policies, forwarding the try and the answer).
	Gateway time.Duration `json:"gateway"`
	// Sidecar is a caller's proxy CPU per call it forwards (mesh sidecar or proxyless: the same proxy code).
	Sidecar time.Duration `json:"sidecar"`
	// Replica is a replica's CPU per request it serves, on top of its serviceTime (which is waiting).
	Replica time.Duration `json:"replica"`
	// GRPCProxy is a proxy's CPU per gRPC request it forwards over h2c, in place of gateway or sidecar for that request (0: theirs).
	GRPCProxy time.Duration `json:"grpcProxy,omitempty"`
	// GRPCCall is what a gRPC call costs its two ends beyond an HTTP/1.1 request (protobuf, HTTP/2 framing), half charged to the caller and half to the replica serving it (0: nothing).
	GRPCCall time.Duration `json:"grpcCall,omitempty"`
}

// WithHostCores returns a copy of p whose host has n cores, for sweeping
// the machine's size without editing the file (run --host-cores). The
// plan must have a host block or carry a calibration profile (Profile),
// whose CPU figures a host block without cpu takes (sim/calibration.go):
// cores without CPU costs would model nothing.
func (p *Plan) WithHostCores(n int) (*Plan, error) {
	if p.Host == nil && p.Profile == nil {
		return nil, fmt.Errorf("the scenario has no host block and the run no calibration profile: add host: {cores: N, cpu: {...}} with the components' CPU per request (see scenarios/README.md, host), or give --calibration FILE, whose CPU figures the host model then takes")
	}
	if n < 1 || n > 4096 {
		return nil, fmt.Errorf("host cores must be from 1 to 4096, got %d", n)
	}
	c := deepCopy(*p)
	if c.Host == nil {
		c.Host = &Host{}
	}
	c.Host.Cores = n
	return &c, nil
}
