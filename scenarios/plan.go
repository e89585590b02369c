package scenarios

import (
	"slices"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench/calibration"
)

// Plan is a loaded scenario, ready to run: every default applied, every
// duration a time.Duration, every rate in events per second, and
// Variants[i].Policy the full policy of variant i (the scenario's policy
// with the variant's keys merged over it). Variants[i].Load holds, for each
// workload the variant overrides, the whole workload as that variant runs
// it; ForVariant(i) is the plan with those in place. There is always at
// least one variant.
//
// A Plan marshals to deterministic JSON (durations as "250ms", rates as
// "500/s", keys in declaration order, maps sorted) that is itself a valid
// scenario: LoadBytes on it yields the same plan. Path and Source are not
// part of the JSON.
type Plan struct {
	// Path is the file the plan was loaded from (the name given to LoadBytes).
	Path string `json:"-"`
	// Source is the file's exact bytes.
	Source []byte `json:"-"`
	// Profile is the calibration profile the simulator applies, loaded by
	// the caller from the scenario's calibration key or a flag (see
	// bench/calibration); nil: none, and the simulator charges nothing.
	Profile *calibration.Profile `json:"-"`
	// ProfileBackend is the real backend whose costs the simulator
	// charges from Profile: calibration.BackendLocal or
	// calibration.BackendContainers.
	ProfileBackend string `json:"-"`
	// Notes are what the imports of variants' from: report without
	// failing the load: fields approximated or left out, each located in
	// its file (see docs/import.md).
	Notes []Issue `json:"-"`
	Scenario
}

// MarshalJSON writes the plan's scenario; see Plan.
func (p Plan) MarshalJSON() ([]byte, error) { return marshalJSON(p.Scenario) }

// MarshalJSON writes the scenario deterministically, durations as strings.
func (s Scenario) MarshalJSON() ([]byte, error) { return marshalJSON(s) }

// Question is the question the scenario answers: the first sentence of its
// description.
func (s *Scenario) Question() string { return firstSentence(s.Description) }

// firstSentence returns text up to and including the first '.', '?' or '!'
// that ends a sentence (followed by white space or the end), on one line.
func firstSentence(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	for i, r := range text {
		if (r == '.' || r == '?' || r == '!') && (i+1 == len(text) || text[i+1] == ' ') {
			return text[:i+1]
		}
	}
	return text
}

// WithSeed returns a copy of the plan with every random stream seeded by seed.
func (p *Plan) WithSeed(seed uint64) *Plan {
	c := deepCopy(*p)
	c.Seed = seed
	return &c
}

// WithDuration returns a copy of the plan whose timeline is rescaled to d,
// for a short form of a long scenario (the CLI's --duration). Every time on
// the timeline is multiplied by d / p.Duration: the duration itself, warmup,
// each workload's start and for, step times and sine periods (variants'
// load overrides too), each fault's at, for and restart downtime. Times that describe the system rather than
// the timeline are kept: service times, network latency, think times,
// timeouts, back-offs and every policy window (breaker, outlier detection,
// budgets, health checks), so a short form compresses the story, not the
// physics. Scaled times are rounded down, so that events that ended by the
// end still do. A d that is not positive returns an unscaled copy.
func (p *Plan) WithDuration(d time.Duration) *Plan {
	c := deepCopy(*p)
	if d <= 0 || p.Duration <= 0 {
		return &c
	}
	ratio := float64(d) / float64(p.Duration)
	scale := func(t *time.Duration) { *t = time.Duration(float64(*t) * ratio) }
	c.Duration = d
	scale(&c.Warmup)
	for i := range c.Load {
		c.Load[i].scaleTimeline(scale)
	}
	for _, v := range c.Variants {
		for name, w := range v.Load {
			w.scaleTimeline(scale)
			v.Load[name] = w
		}
	}
	for i := range c.Faults {
		f := &c.Faults[i]
		scale(&f.At)
		scale(&f.For)
		scale(&f.Downtime)
	}
	return &c
}

// scaleTimeline applies scale to the workload's times on the timeline:
// start, for, step times and the sine period.
func (w *Workload) scaleTimeline(scale func(*time.Duration)) {
	scale(&w.Start)
	scale(&w.For)
	if w.Shape != nil {
		for j := range w.Shape.Steps {
			scale(&w.Shape.Steps[j].At)
		}
		scale(&w.Shape.Period)
	}
}

// Service returns the service named name.
func (t *Topology) Service(name string) (*Service, bool) {
	for i := range t.Services {
		if t.Services[i].Name == name {
			return &t.Services[i], true
		}
	}
	return nil, false
}

// Zones lists every zone named by the gateway or a service, sorted.
func (t *Topology) Zones() []string {
	var zones []string
	if t.Gateway.Zone != "" {
		zones = append(zones, t.Gateway.Zone)
	}
	for _, s := range t.Services {
		if s.Zone != "" {
			zones = append(zones, s.Zone)
		}
		zones = append(zones, s.Zones...)
	}
	slices.Sort(zones)
	return slices.Compact(zones)
}

// ReplicaZone is the zone of replica i: zone, or zones[i mod len(zones)]
// (replicas are spread round-robin), or "" when the service names none.
func (s *Service) ReplicaZone(i int) string {
	if len(s.Zones) > 0 {
		return s.Zones[i%len(s.Zones)]
	}
	return s.Zone
}

// Stages groups the service's calls as they execute: each stage runs after
// the previous one has finished; the calls of a stage run concurrently. A
// run of consecutive parallel calls is one stage; every other call is a
// stage of its own. [risk‖, fraud‖, ledger] gives [[risk fraud] [ledger]].
func (s *Service) Stages() [][]Call { return stagesOf(s.Calls) }

func stagesOf(calls []Call) [][]Call {
	var stages [][]Call
	for i, c := range calls {
		if c.Parallel && i > 0 && calls[i-1].Parallel {
			stages[len(stages)-1] = append(stages[len(stages)-1], c)
			continue
		}
		stages = append(stages, []Call{c})
	}
	return stages
}

// Replica identifies one replica of a service.
type Replica struct {
	Service string
	Index   int
	Zone    string
}

// Replicas lists the replicas a fault target selects, in service order.
// A zone target selects service replicas only; whether the gateway shares
// the zone's fate is for the backend to decide from Gateway.Zone.
func (t *Topology) Replicas(target Target) []Replica {
	if target.Route != "" {
		return nil // a route target names the gateway's route, no replica
	}
	var out []Replica
	for _, s := range t.Services {
		if target.Service != "" && s.Name != target.Service {
			continue
		}
		for i := range s.Replicas {
			z := s.ReplicaZone(i)
			if target.Zone != "" && z != target.Zone {
				continue
			}
			if target.Replica != AllReplicas && i != target.Replica {
				continue
			}
			out = append(out, Replica{Service: s.Name, Index: i, Zone: z})
		}
	}
	return out
}

// Hop is the effective latency and loss of one network hop.
type Hop struct {
	Latency DistributionSpec
	Loss    float64
}

// Between returns the hop from zone a to zone b: the zone's override inside
// a zone, crossZone between zones, the network's defaults otherwise.
func (n *Network) Between(a, b string) Hop {
	hop := Hop{Latency: n.Latency, Loss: float64(n.Loss)}
	var l *Link
	if a == b {
		if z, ok := n.Zones[a]; ok {
			l = &z
		}
	} else {
		l = n.CrossZone
	}
	if l != nil {
		if l.Latency != nil {
			hop.Latency = *l.Latency
		}
		if l.Loss != nil {
			hop.Loss = float64(*l.Loss)
		}
	}
	return hop
}
