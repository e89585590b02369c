package scenarios

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Every default of the format lives in this file. setDefaults methods give
// a value its defaults before the file's keys are decoded onto it, so a key
// that is written always wins, even when it is written as 0. finalize fills
// in the defaults that depend on other values (a workload's window, a rate
// limiter's burst), after decoding and merging.

func (s *Scenario) setDefaults() {
	s.Seed = 1
	s.Backends = []string{BackendSim}
	s.Topology.setDefaults()
	s.Network.setDefaults()
	s.Policy.setDefaults()
	s.Prediction.setDefaults()
}

func (t *Topology) setDefaults() { t.Mesh = MeshSidecar }

func (s *Service) setDefaults() {
	s.Concurrency = 1
	s.Queue = 100
	s.Protocol = ProtocolHTTP
}

func (n *Network) setDefaults() {
	n.Latency = Constant(200 * time.Microsecond)
}

func (w *Workload) setDefaults() {
	w.Arrival = ArrivalPoisson
	w.Protocol = ProtocolHTTP
	w.Target.setDefaults()
}

func (r *Request) setDefaults() {
	r.Method = "GET"
	r.IdempotencyKeys = true
}

func (u *Users) setDefaults() { u.ThinkTime = Constant(0) }

// Discovery defaults: static; a registry keeps a registration 10s without
// a heartbeat (Consul's TTL checks are commonly set so), and heartbeat
// defaults to a third of the ttl (finalize), as Eureka renews a 90s lease
// every 30s.
func (d *Discovery) setDefaults() { d.Type = DiscoveryStatic }

// RouteCache defaults: answers stay fresh 30s, and up to 10000 are kept.
func (c *RouteCache) setDefaults() {
	c.TTL = 30 * time.Second
	c.MaxEntries = 10000
}

func (p *Policy) setDefaults() {
	p.Balancer.setDefaults()
	p.Timeouts.setDefaults()
}

// Balancer defaults are Envoy's: two choices for least request, ring sizes
// 1024 to 8M, a maglev table of 65537; peak EWMA decays over 10s as Finagle's.
func (b *Balancer) setDefaults() {
	b.Type = BalancerRoundRobin
	b.Choices = 2
	b.DecayTime = 10 * time.Second
	b.MinRingSize = 1024
	b.MaxRingSize = 8 * 1024 * 1024
	b.TableSize = 65537
	b.SlowStart.setDefaults()
	b.Locality.setDefaults()
}

func (s *SlowStart) setDefaults() {
	s.Aggression = 1
	s.MinWeightPercent = 10
}

func (l *Locality) setDefaults() { l.OverprovisioningFactor = 1.4 }

// Timeouts defaults are Envoy's cluster connect timeout and route timeout.
func (t *Timeouts) setDefaults() {
	t.Connect = 5 * time.Second
	t.Request = 15 * time.Second
}

// Retries defaults: one retry (Envoy's num_retries 1) on server errors and
// transport failures.
func (r *Retries) setDefaults() {
	r.Attempts = 2
	r.RetryOn = []string{RetryOn5xx, RetryOnReset, RetryOnConnectFailure}
	r.Backoff.Base = 25 * time.Millisecond // Envoy's base_interval; max is derived in finalize
}

// RetryBudget defaults are Linkerd's: 20% extra load, 10 retries per
// second floor, over 10 seconds.
func (b *RetryBudget) setDefaults() {
	b.Ratio = 0.2
	b.MinPerSecond = 10
	b.TTL = 10 * time.Second
}

func (h *Hedging) setDefaults() { h.MaxHedges = 1 }

// CircuitBreaker defaults: Hystrix's 50% over 10s in 10 buckets with a 5s
// sleep window and resilience4j's minimum of requests; Envoy's thresholds.
func (c *CircuitBreaker) setDefaults() {
	c.FailureRatio = 0.5
	c.MinRequests = 20
	c.Window = 10 * time.Second
	c.Buckets = 10
	c.SleepWindow = 5 * time.Second
	c.HalfOpenProbes = 1
	c.MaxConnections = 1024
	c.MaxPending = 1024
	c.MaxRequests = 1024
	c.MaxRetries = 3
}

// OutlierDetection defaults are Envoy's.
func (o *OutlierDetection) setDefaults() {
	o.Interval = 10 * time.Second
	o.BaseEjectionTime = 30 * time.Second
	o.MaxEjectionTime = 300 * time.Second
	o.MaxEjectionPercent = 10
	o.Consecutive5xx = 5
}

func (s *SuccessRate) setDefaults() {
	s.StdevFactor = 1.9
	s.MinimumHosts = 5
	s.RequestVolume = 100
}

func (f *FailurePercentage) setDefaults() {
	f.Threshold = 85
	f.MinimumHosts = 5
	f.RequestVolume = 50
}

func (r *RateLimit) setDefaults() { r.Key = LimitKeyGlobal }

func (c *Consumers) setDefaults() { c.Identity = IdentitySourceIP }

func (s *Skew) setDefaults() { s.S = 1.1 }

// HealthCheck defaults: Envoy's common thresholds, a 5s interval.
func (h *HealthCheck) setDefaults() {
	h.Interval = 5 * time.Second
	h.Timeout = time.Second
	h.HealthyThreshold = 2
	h.UnhealthyThreshold = 3
	h.Path = "/healthz"
}

// MTLS defaults: STRICT, Istio's default mode; certificates living an hour
// (SPIRE's default X509-SVID TTL), renewed at half their lifetime
// (finalize).
func (m *MTLS) setDefaults() {
	m.Mode = MTLSStrict
	m.CertTTL = time.Hour
}

// finalize renews certificates at half their lifetime, as SPIRE's agents
// do, unless rotateEvery says otherwise.
func (m *MTLS) finalize() {
	if m.RotateEvery == 0 {
		m.RotateEvery = m.CertTTL / 2
	}
}

// finalize fills in the defaults that depend on other values. has reports
// whether the file wrote a key path. It runs before validation, and does
// not assume the values are valid.
func (s *Scenario) finalize(has func(path string) bool) {
	for i := range s.Gateway.Routes {
		r := &s.Gateway.Routes[i]
		if r.Match.Path == "" && r.Match.PathPrefix == "" && r.Match.PathRegex == "" {
			r.Match.PathPrefix = "/"
		}
		if r.Auth != nil && r.Auth.Type == AuthAPIKey && r.Auth.Header == "" {
			r.Auth.Header = "X-API-Key"
		}
		if r.Auth != nil && r.Auth.Type == AuthIntrospection && r.Auth.Introspection == nil {
			r.Auth.Introspection = &Introspection{}
			r.Auth.Introspection.setDefaults()
		}
		if r.RateLimit != nil {
			r.RateLimit.finalize()
		}
	}
	for i := range s.Services {
		s.Services[i].finalizeOperations(fmt.Sprintf("topology.services[%d]", i), has)
	}
	s.Network.finalize()
	for i := range s.Load {
		w := &s.Load[i]
		path := fmt.Sprintf("load[%d]", i)
		if w.Name == "" {
			w.Name = fmt.Sprintf("load-%d", i+1)
		}
		if has(path+".rate") && w.Shape == nil && w.Users == nil {
			w.Shape = &Shape{Type: ShapeConstant, Rate: w.Rate}
			w.Rate = 0
		}
		if w.Users != nil && !has(path+".arrival") {
			w.Arrival = "" // arrivals are the users' own business
		}
		if !has(path+".for") && s.Duration > w.Start {
			w.For = s.Duration - w.Start
		}
	}
	for i := range s.Faults {
		f := &s.Faults[i]
		if (f.Action == ActionErrors || f.Action == ActionAbort) && f.Status == 0 {
			f.Status = 503
		}
		if f.HTTPFault() && !has(fmt.Sprintf("faults[%d].percentage", i)) {
			f.Percentage = 100
		}
	}
	s.Policy.finalize()
	for i := range s.Variants {
		s.Variants[i].Policy.finalize()
	}
}

// finalizeOperations fills in what an operation leaves out from its
// service: serviceTime and calls. An operation's calls are never nil in a
// Plan, so that an operation written with calls: [] keeps no calls when
// its JSON is loaded back.
func (s *Service) finalizeOperations(path string, has func(path string) bool) {
	for i := range s.Operations {
		op := &s.Operations[i]
		at := fmt.Sprintf("%s.operations[%d]", path, i)
		if !has(at + ".serviceTime") {
			op.ServiceTime = s.ServiceTime
			op.ServiceTime.Quantiles = slices.Clone(s.ServiceTime.Quantiles)
		}
		if !has(at + ".calls") {
			op.Calls = slices.Clone(s.Calls)
		}
		if op.Calls == nil {
			op.Calls = []Call{}
		}
	}
}

// finalize fills each link's missing latency or loss from the network's.
func (n *Network) finalize() {
	fill := func(l *Link) {
		if l.Latency == nil {
			lat := n.Latency
			l.Latency = &lat
		}
		if l.Loss == nil {
			loss := n.Loss
			l.Loss = &loss
		}
	}
	for z, l := range n.Zones {
		fill(&l)
		n.Zones[z] = l
	}
	if n.CrossZone != nil {
		fill(n.CrossZone)
	}
}

func (p *Policy) finalize() {
	if r := p.Retries; r != nil && r.Backoff.Max == 0 {
		r.Backoff.Max = 10 * r.Backoff.Base // Envoy: max_interval defaults to 10 × base_interval
	}
	if p.RateLimit != nil {
		p.RateLimit.finalize()
	}
	if d := p.Discovery; d != nil && d.Type == DiscoveryRegistry {
		if d.TTL == 0 {
			d.TTL = 10 * time.Second
		}
		if d.Heartbeat == 0 {
			d.Heartbeat = d.TTL / 3
		}
	}
	if p.Security != nil && p.Security.MTLS != nil {
		p.Security.MTLS.finalize()
	}
}

// finalize applies the defaults of the limiter's type.
func (r *RateLimit) finalize() {
	switch r.Type {
	case LimiterTokenBucket:
		if r.Burst == 0 {
			r.Burst = max(1, int(math.Min(math.Ceil(float64(r.Rate)), math.MaxInt32))) // one second of rate
		}
	case LimiterSlidingWindow:
		if r.Window == 0 {
			r.Window = time.Second
		}
	case LimiterAdaptiveConcurrency:
		if r.MinLimit == 0 {
			r.MinLimit = 1
		}
		if r.MaxLimit == 0 {
			r.MaxLimit = 1000
		}
		if r.Limit == 0 {
			r.Limit = min(max(20, r.MinLimit), r.MaxLimit) // Netflix concurrency-limits' initial limit
		}
	}
}
