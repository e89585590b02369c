package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/meshbench/meshbench/bench/calibration"
)

// SummarySchema names version 1 of summary.json. Later versions may add
// fields; none may change the meaning of a field defined here.
const SummarySchema = "meshbench.summary/v1"

// Summary is summary.json: the measured outcome of one `meshbench run`, one
// RunSummary per backend × variant × repeat. It holds no wall-clock
// timestamps, so the same scenario and seed on the simulator give a
// byte-identical file; when and where a run happened is in environment.json.
type Summary struct {
	Schema   string `json:"schema"`
	Scenario string `json:"scenario"`
	// Question is the first sentence of the scenario's description.
	Question string `json:"question,omitempty"`
	Seed     uint64 `json:"seed"`
	// Partial is true when the run was interrupted (Ctrl-C, a backend error):
	// what had been measured is kept, but not every run finished.
	Partial bool         `json:"partial"`
	Runs    []RunSummary `json:"runs"`
	// SLOPass is true when every SLO verdict of every run passed.
	SLOPass bool `json:"slo_pass"`
	// Predictions set the simulator's prediction of each variant beside
	// each real backend's measurement of it, judged against the
	// scenario's prediction tolerance. Absent when the run did not have
	// both, and in summaries written before they existed.
	Predictions []Prediction `json:"predictions,omitempty"`
}

// RunSummary is one backend × variant × repeat.
type RunSummary struct {
	Backend string `json:"backend"`
	Variant string `json:"variant"`
	Repeat  int    `json:"repeat"`
	Seed    uint64 `json:"seed"`
	// Partial is true when this run did not reach the end of its timeline.
	Partial bool `json:"partial,omitempty"`
	// Error is set when the backend failed; the counts are what was measured
	// before it did.
	Error string `json:"error,omitempty"`

	// DurationS is the measured window in seconds: duration − warmup.
	DurationS float64 `json:"duration_s"`
	// Stats are the run's totals: requests, outcomes and latency.
	Stats
	// Retries and Hedges count extra attempts the gateway made.
	Retries int64 `json:"retries"`
	Hedges  int64 `json:"hedges"`
	// PerInstance counts requests answered by each replica of the entry
	// service, by instance name ("payments[0]"). Instances has the same
	// with outcomes and latencies; this map is kept for older readers.
	PerInstance map[string]int64 `json:"per_instance"`
	// Routes, Workloads and Instances break the totals down by the
	// gateway route a request matched, the workload that sent it, and the
	// replica of the entry service that answered it, each entry of the
	// same shape as the totals. Requests that matched no route are under
	// NoRoute. Absent in summaries written before they existed.
	Routes    map[string]Stats `json:"routes,omitempty"`
	Workloads map[string]Stats `json:"workloads,omitempty"`
	Instances map[string]Stats `json:"instances,omitempty"`
	// Untrustworthy, when set, says why this run's figures should not be
	// trusted: its load generator fell behind its schedule by more than
	// the bound (ScheduleLag.Exceeded). Empty for a run with nothing
	// against it, and in summaries written before it existed.
	Untrustworthy string `json:"untrustworthy,omitempty"`
	// SLO holds one verdict per SLO that applies to this run.
	SLO []SLOVerdict `json:"slo"`
	// Knee is where the run's latency crossed its SLO on a load that rises
	// in steps (see Knee); absent for other loads and scenarios without a
	// latency SLO.
	Knee *Knee `json:"knee,omitempty"`
	// Buckets is the run as a time series, from t=0 (warm-up included).
	Buckets []Bucket `json:"buckets"`
	// Audit is the ledger audit of a real backend; absent for the simulator.
	Audit *Audit `json:"audit,omitempty"`
	// CPU is the machine's CPU the run used over its measured window: the
	// local backend's process and the containers backend's whole machine
	// (every process on it), measured; the simulator's host model,
	// predicted. Absent for the other backends, for a simulator run
	// without a host model, and in older summaries.
	CPU *CPU `json:"cpu,omitempty"`
}

// CPU is the CPU a run used after its warm-up, to the end of its load.
type CPU struct {
	// Cores is the mean number of cores busy.
	Cores float64 `json:"cores"`
	// PerRequestMS is the CPU time per request issued in the window, in
	// ms: everything the run's process (or host) did, over the client's
	// requests.
	PerRequestMS float64 `json:"per_request_ms"`
	// OtherCores and StealCores are what the rest of a real run's
	// machine spent over the same window, in mean cores (bench.Beside):
	// other processes and interrupts, and the hypervisor's steal. Absent
	// on the simulator, where the machine cannot be read, and in
	// summaries written before them.
	OtherCores *float64 `json:"other_cores,omitempty"`
	StealCores *float64 `json:"steal_cores,omitempty"`
}

// Disturbed says why a real run's machine was busy with other work while
// it was measured (other processes' CPU and the hypervisor's steal
// together over DisturbedCores), or "".
func (c *CPU) Disturbed() string {
	if c == nil || c.OtherCores == nil || c.StealCores == nil {
		return ""
	}
	if !calibration.Busy(*c.OtherCores, *c.StealCores) {
		return ""
	}
	return fmt.Sprintf("other processes used %.2f cores and the hypervisor's steal took %.2f while it was measured", *c.OtherCores, *c.StealCores)
}

// cpuOf is the summary of spent over a window in which requests were
// issued; nil when there is nothing to divide by.
func cpuOf(spent *CPUSpent, requests int64) *CPU {
	if spent == nil || spent.Span <= 0 || requests <= 0 {
		return nil
	}
	c := &CPU{
		Cores:        round(spent.Used.Seconds()/spent.Span.Seconds(), 4),
		PerRequestMS: round(float64(spent.Used)/float64(requests)/1e6, 4),
	}
	if b := spent.Beside; b != nil {
		other, steal := round(b.Other.Seconds()/spent.Span.Seconds(), 4), round(b.Steal.Seconds()/spent.Span.Seconds(), 4)
		c.OtherCores, c.StealCores = &other, &steal
	}
	return c
}

// Stats describe a set of requests: the run's totals, or one route's,
// workload's or instance's share of them. The fields mean the same at
// every level.
type Stats struct {
	// Requests counts requests issued after the warm-up (all outcomes).
	Requests  int64 `json:"requests"`
	Successes int64 `json:"successes"`
	// Errors counts failed requests by kind (timeout, reset, refused,
	// status_5xx, status_429, status_4xx, breaker_open, no_endpoint,
	// queue_full, other); kinds with no failures are omitted.
	Errors map[string]int64 `json:"errors"`
	// Availability is successes / requests (0..1).
	Availability float64 `json:"availability"`
	// ThroughputRPS is successful requests per second over the window
	// (goodput, as vegeta reports throughput).
	ThroughputRPS float64 `json:"throughput_rps"`
	// LatencyMS describes successful requests only, end to end, in ms:
	// from the intended send time for open-loop requests.
	LatencyMS Latency `json:"latency_ms"`
	// LatencyHDR is the latency histogram (µs) in HdrHistogram's base64 V2
	// compressed encoding, for percentile spectra and comparison.
	LatencyHDR string `json:"latency_hdr"`
	// ScheduleLag is how far behind its schedule the load generator sent
	// the open-loop requests; nil when there were none (closed-loop
	// workloads have no schedule) and in older summaries.
	ScheduleLag *ScheduleLag `json:"schedule_lag,omitempty"`
}

// NoRoute is the key in RunSummary.Routes of requests that matched no
// gateway route (route names cannot contain parentheses).
const NoRoute = "(none)"

// DefaultMaxScheduleLag is the bound on the p99 schedule lag past which a
// run is marked untrustworthy: a load generator 10 ms late at the 99th
// percentile no longer offers the arrival process the scenario describes,
// so the comparison between variants is of different loads.
const DefaultMaxScheduleLag = 10 * time.Millisecond

// ScheduleLag summarises how late a load generator sent open-loop requests
// against their intended send times (actual − intended), in ms. Latencies
// are measured from the intended times whatever the lag, so a lagging
// generator cannot hide queueing (coordinated omission); but the load it
// offered was not the scenario's, which is what Exceeded flags. The
// simulator sends on time: its lag is 0.
type ScheduleLag struct {
	// Requests counts the open-loop requests measured.
	Requests int64   `json:"requests"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
	MaxMS    float64 `json:"max_ms"`
	// BoundP99MS is the bound P99MS was checked against (run level only).
	BoundP99MS float64 `json:"bound_p99_ms,omitempty"`
	// Exceeded is P99MS > BoundP99MS (run level only).
	Exceeded bool `json:"exceeded,omitempty"`
}

// Latency is a latency distribution's summary in milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// Bucket is one time slice of a run. Percentiles are of successful requests
// that started in the slice, in ms. Retries and Hedges count the extra
// attempts the gateway made for the requests that started in the slice;
// Hedges is omitted when 0 (and absent in summaries written before it
// existed).
type Bucket struct {
	StartS        float64 `json:"t_s"`
	WidthS        float64 `json:"width_s"`
	Requests      int64   `json:"requests"`
	Successes     int64   `json:"successes"`
	Retries       int64   `json:"retries"`
	Hedges        int64   `json:"hedges,omitempty"`
	Availability  float64 `json:"availability"`
	ThroughputRPS float64 `json:"throughput_rps"`
	P50MS         float64 `json:"p50_ms"`
	P99MS         float64 `json:"p99_ms"`
	P999MS        float64 `json:"p999_ms"`
}

// SLOVerdict is one SLO evaluated against one run.
type SLOVerdict struct {
	Metric string `json:"metric"`
	// Workload, when set, is the workload whose requests alone the SLO
	// was judged on; empty for the run's totals.
	Workload string `json:"workload,omitempty"`
	// Bound is "max" or "min".
	Bound     string  `json:"bound"`
	Threshold float64 `json:"threshold"`
	Value     float64 `json:"value"`
	// Unit is "ms" for latencies, "ratio" for availability and error_rate,
	// "rps" for throughput.
	Unit string `json:"unit"`
	Pass bool   `json:"pass"`
}

// Label names what the verdict bounds: its metric, "of" its workload when
// it has one ("availability of customers").
func (v SLOVerdict) Label() string {
	if v.Workload == "" {
		return v.Metric
	}
	return v.Metric + " of " + v.Workload
}

// Audit is the ledger audit after a real run: every payment acknowledged
// with 2xx must be recorded exactly once.
type Audit struct {
	Acknowledged int64 `json:"acknowledged"`
	Recorded     int64 `json:"recorded"`
	Duplicates   int64 `json:"duplicates"`
	Lost         int64 `json:"lost"`
}

// Clean reports whether the audit found nothing lost and nothing doubled.
func (a *Audit) Clean() bool { return a == nil || (a.Duplicates == 0 && a.Lost == 0) }

// Marshal encodes the summary as indented JSON with a trailing newline. Maps
// are written with sorted keys by encoding/json, so output is deterministic.
func (s *Summary) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadSummary reads and checks a summary.json file.
func ReadSummary(path string) (*Summary, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Schema != SummarySchema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, s.Schema, SummarySchema)
	}
	return &s, nil
}
