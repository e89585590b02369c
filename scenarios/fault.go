package scenarios

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Fault actions.
const (
	ActionKill      = "kill"      // the replicas stop; with for, they come back after it
	ActionPause     = "pause"     // the replicas freeze (SIGSTOP): requests hang, connections stay open
	ActionSlow      = "slow"      // service time is multiplied by factor (a brownout)
	ActionErrors    = "errors"    // a fraction rate of requests is answered with status
	ActionLatency   = "latency"   // add is added to every hop into the target
	ActionPartition = "partition" // traffic between target and peer is dropped
	ActionRestart   = "restart"   // the replicas go down for downtime, then start fresh
	ActionAbort     = "abort"     // the gateway answers percentage of a route's requests with status (edge.go)
	ActionDelay     = "delay"     // the gateway holds percentage of a route's requests for a draw of delay (edge.go)
)

// Fault is one fault injected on the timeline at At, lasting For (0: to the
// end of the scenario). The parameters that apply depend on Action: factor
// (slow), rate and status (errors), add (latency), peer (partition),
// downtime (restart), status and percentage (abort), delay and percentage
// (delay). Abort and delay target a gateway route ("route:NAME"), every
// other action replicas.
type Fault struct {
	// At is when the fault starts.
	At time.Duration `json:"at"`
	// For is how long it lasts (default: to the end; not for restart).
	For time.Duration `json:"for,omitempty"`
	// Action is kill, pause, slow, errors, latency, partition, restart, abort or delay.
	Action string `json:"action" noun:"fault action" jsonschema:"required,enum=kill,enum=pause,enum=slow,enum=errors,enum=latency,enum=partition,enum=restart,enum=abort,enum=delay"`
	// Target selects replicas: "payments[0]", "payments[*]", "payments" or "zone:b"; or, for abort and delay, a gateway route: "route:NAME".
	Target Target `json:"target" jsonschema:"required"`
	// Factor multiplies service time (slow; greater than 0).
	Factor float64 `json:"factor,omitempty" jsonschema:"exclusiveMinimum=0"`
	// Rate is the fraction of requests that fail (errors).
	Rate Fraction `json:"rate,omitempty"`
	// Status is the status of the failed requests (errors, abort; default 503).
	Status int `json:"status,omitempty" jsonschema:"minimum=100,maximum=599"`
	// Add is the latency added to every hop into the target (latency).
	Add *DistributionSpec `json:"add,omitempty"`
	// Peer is the other side of the partition, in target syntax (partition).
	Peer *Target `json:"peer,omitempty"`
	// Downtime is how long the replicas stay down before starting again (restart; default 0).
	Downtime time.Duration `json:"downtime,omitempty"`
	// Percentage is the share of the route's requests faulted, 0 to 100 (abort, delay; default 100).
	Percentage float64 `json:"percentage,omitempty" jsonschema:"minimum=0,maximum=100"`
	// Delay is how long the gateway holds a delayed request before routing it (delay).
	Delay *DistributionSpec `json:"delay,omitempty"`
}

// faultParams lists, per action, the parameter keys that apply to it.
var faultParams = map[string][]string{
	ActionKill:      {},
	ActionPause:     {},
	ActionSlow:      {"factor"},
	ActionErrors:    {"rate", "status"},
	ActionLatency:   {"add"},
	ActionPartition: {"peer"},
	ActionRestart:   {"downtime"},
	ActionAbort:     {"status", "percentage"},
	ActionDelay:     {"delay", "percentage"},
}

// AllReplicas is Target.Replica when a target names every replica of a service.
const AllReplicas = -1

// Target selects replicas for a fault: one replica ("payments[0]"), every
// replica of a service ("payments[*]" or "payments"), or every replica of
// every service in a zone ("zone:b"). Resolve it with Plan.Replicas.
type Target struct {
	// Service is the service named, empty for a zone target.
	Service string
	// Replica is the replica's index, or AllReplicas.
	Replica int
	// Zone is the zone named by a zone target.
	Zone string
	// Route is the gateway route named by a route target.
	Route string
}

var targetRE = regexp.MustCompile(`^([a-z0-9-]+)(?:\[(\*|[0-9]+)\])?$`)

// ParseTarget parses the target syntax of faults.
func ParseTarget(s string) (Target, error) {
	if route, ok := strings.CutPrefix(s, "route:"); ok {
		if route == "" {
			return Target{}, fmt.Errorf("invalid target %q: no route after \"route:\"", s)
		}
		return Target{Route: route, Replica: AllReplicas}, nil
	}
	if zone, ok := strings.CutPrefix(s, "zone:"); ok {
		if zone == "" {
			return Target{}, fmt.Errorf("invalid target %q: no zone after \"zone:\"", s)
		}
		return Target{Zone: zone, Replica: AllReplicas}, nil
	}
	m := targetRE.FindStringSubmatch(s)
	if m == nil {
		return Target{}, fmt.Errorf(`invalid target %q: want "service", "service[N]", "service[*]", "zone:NAME" or "route:NAME"`, s)
	}
	t := Target{Service: m[1], Replica: AllReplicas}
	if m[2] != "" && m[2] != "*" {
		n, err := strconv.Atoi(m[2])
		if err != nil {
			return Target{}, fmt.Errorf("invalid target %q: replica index out of range", s)
		}
		t.Replica = n
	}
	return t, nil
}

// String writes the target in its file syntax.
func (t Target) String() string {
	switch {
	case t.Route != "":
		return "route:" + t.Route
	case t.Service == "":
		return "zone:" + t.Zone
	case t.Replica == AllReplicas:
		return t.Service
	default:
		return fmt.Sprintf("%s[%d]", t.Service, t.Replica)
	}
}

// MarshalJSON writes the target as a string.
func (t Target) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// UnmarshalJSON reads the target syntax.
func (t *Target) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseTarget(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

func (t *Target) decodeScalar(s scalar) error {
	if s.kind != kindString {
		return fmt.Errorf(`expected a target such as "payments[0]" or "zone:b", got %s`, s.describe())
	}
	v, err := ParseTarget(s.text)
	if err != nil {
		return err
	}
	*t = v
	return nil
}
