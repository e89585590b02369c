package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// StartRequest is what the controller sends an agent to start a run
// (POST /v1/run). Drive fills Shard, Shards, ID, ClockOffset, Epoch (when
// zero), BucketWidth (when zero) and Interval (when zero) for each agent.
type StartRequest struct {
	// ID names the run, for POST /v1/stop.
	ID string `json:"id"`
	// Plan is the variant's plan (bench.Job.Plan, scenarios.Plan.ForVariant)
	// as JSON (plan.json's form); the agent takes its shard (ShardPlan).
	Plan json.RawMessage `json:"plan"`
	// Variant is the variant's index in Plan.Variants.
	Variant int `json:"variant"`
	// Seed is the repeat's seed (bench.Job.Seed).
	Seed uint64 `json:"seed"`
	// Shard is this agent's shard of Shards (0 ≤ Shard < Shards).
	Shard  int `json:"shard"`
	Shards int `json:"shards"`
	// Target is the gateway's base URL as the agent reaches it.
	Target string `json:"target"`
	// Epoch is the run's time zero in the controller's clock.
	Epoch time.Time `json:"epoch"`
	// ClockOffset is the agent's clock minus the controller's (Drive
	// estimates it): the agent starts at Epoch + ClockOffset in its own
	// clock.
	ClockOffset time.Duration `json:"clock_offset_ns"`
	// Timeout bounds each request (0: load.DefaultTimeout).
	Timeout time.Duration `json:"timeout_ns"`
	// Interval is how often the agent sends its partial aggregate
	// (0: DefaultInterval).
	Interval time.Duration `json:"interval_ns"`
	// BucketWidth is the width of the run's time buckets: the sink's
	// (bench.PartialLayout), so that Partials merge (0: bench.DefaultBucketWidth).
	BucketWidth time.Duration `json:"bucket_width_ns"`
}

// DefaultInterval is how often an agent sends its partial aggregate when
// StartRequest.Interval is 0.
const DefaultInterval = time.Second

// Frame is one line of a run's stream; exactly one of Clock, Partial and
// Final is set.
type Frame struct {
	Clock   *ClockFrame    `json:"clock,omitempty"`
	Partial *bench.Partial `json:"partial,omitempty"`
	// ElapsedNS, with Partial, is how far through the timeline the agent
	// is (ns since its epoch; negative before it).
	ElapsedNS int64       `json:"elapsed_ns,omitempty"`
	Final     *FinalFrame `json:"final,omitempty"`
}

// ClockFrame opens a run's stream. Times are the agent's wall clock, in
// ns since the Unix epoch.
type ClockFrame struct {
	ReceivedNS int64 `json:"received_ns"` // when the request arrived
	SentNS     int64 `json:"sent_ns"`     // when this frame was written
	EpochNS    int64 `json:"epoch_ns"`    // the run's zero in the agent's clock
}

// FinalFrame ends a run's stream.
type FinalFrame struct {
	// Acks are the payments the agent's clients saw acknowledged.
	Acks []fleet.Ack `json:"acks,omitempty"`
	// Requests counts the results recorded.
	Requests int64 `json:"requests"`
	// EndNS is how far the load got: the plan's duration unless stopped.
	EndNS int64 `json:"end_ns"`
	// Stopped is true when the run was ended early (POST /v1/stop, or the
	// controller went away).
	Stopped bool `json:"stopped,omitempty"`
	// Error is the load's error, if it failed.
	Error string `json:"error,omitempty"`
}

// clockReading is GET /v1/clock's answer.
type clockReading struct {
	UnixNS int64 `json:"unix_ns"`
}

// maxRequestBytes bounds a StartRequest's size (a plan is a few kB).
const maxRequestBytes = 8 << 20

// run is a StartRequest checked and resolved: the shard's plan.
type run struct {
	req  StartRequest
	plan *scenarios.Plan // the shard's plan
}

// resolve checks req and loads its shard's plan; allowed are the targets
// off loopback it may name (ServerOptions.Targets).
func resolve(req StartRequest, allowed []string) (*run, error) {
	if req.ID == "" {
		return nil, errors.New("start request: no id")
	}
	if req.Shards < 1 || req.Shard < 0 || req.Shard >= req.Shards {
		return nil, fmt.Errorf("start request: shard %d of %d out of range", req.Shard, req.Shards)
	}
	if req.Epoch.IsZero() {
		return nil, errors.New("start request: no epoch")
	}
	if req.Interval < 0 || req.Timeout < 0 || req.BucketWidth < 0 {
		return nil, errors.New("start request: negative interval, timeout or bucket width")
	}
	if err := checkTarget(req.Target, allowed); err != nil {
		return nil, fmt.Errorf("start request: %w", err)
	}
	if len(req.Plan) == 0 {
		return nil, errors.New("start request: no plan")
	}
	plan, err := scenarios.LoadBytes("plan.json", req.Plan)
	if err != nil {
		return nil, fmt.Errorf("start request: plan: %w", err)
	}
	if req.Variant < 0 || req.Variant >= len(plan.Variants) {
		return nil, fmt.Errorf("start request: variant %d out of range (the plan has %d)", req.Variant, len(plan.Variants))
	}
	shard, err := ShardPlan(plan, req.Shard, req.Shards)
	if err != nil {
		return nil, fmt.Errorf("start request: %w", err)
	}
	return &run{req: req, plan: shard}, nil
}

// checkTarget checks a gateway URL: http, and on loopback or the host
// and port of one of allowed.
func checkTarget(target string, allowed []string) error {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("target %q: want http://HOST:PORT", target)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	for _, a := range allowed {
		if au, err := url.Parse(a); err == nil && strings.EqualFold(au.Host, u.Host) {
			return nil
		}
	}
	return fmt.Errorf("target %q is not on loopback: an agent sends elsewhere only to a target it was started with (--allow-target)", target)
}
