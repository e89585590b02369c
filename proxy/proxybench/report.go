package proxybench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Report is one bench run: every target's phases and its comparison with
// direct.
type Report struct {
	Started     time.Time `json:"started"`
	Duration    string    `json:"duration"`
	Warmup      string    `json:"warmup"`
	Rate        int       `json:"rate"`
	Connections int       `json:"connections"`
	Rounds      int       `json:"rounds"`
	Pinned      bool      `json:"pinned"`
	Notes       []string  `json:"notes,omitempty"`
	Targets     []Target  `json:"targets"`
}

// Target is what one target measured.
type Target struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Skipped says why the target was not measured.
	Skipped string `json:"skipped,omitempty"`
	// Rounds are the phases of every round.
	Rounds []Round `json:"rounds,omitempty"`
	// Rate is the fixed-rate phase of the round with the median p99, and
	// Saturation the closed loop of the round with the median throughput.
	Rate       Phase `json:"rate"`
	Saturation Phase `json:"saturation"`
	// ThroughputRatio is the median over rounds of saturation throughput
	// over direct's in the same round.
	ThroughputRatio float64 `json:"throughputRatio"`
	// AddedP50Ms and AddedP99Ms are the medians over rounds of the
	// fixed-rate latency minus direct's in the same round.
	AddedP50Ms float64 `json:"addedP50Ms"`
	AddedP99Ms float64 `json:"addedP99Ms"`
	// OtherCPU is the CPU, in cores, that other processes on the machine
	// used while this target was measured: above a few tenths the
	// figures are disturbed.
	OtherCPU float64 `json:"otherCpuCores"`
}

// Round is what one round measured of one target.
type Round struct {
	Rate       Phase `json:"rate"`
	Saturation Phase `json:"saturation"`
}

// pickMedians sets Rate and Saturation from the rounds.
func (t *Target) pickMedians() {
	if len(t.Rounds) == 0 {
		return
	}
	byP99 := slices.Clone(t.Rounds)
	slices.SortStableFunc(byP99, func(a, b Round) int { return cmp.Compare(a.Rate.P99Ms, b.Rate.P99Ms) })
	t.Rate = byP99[(len(byP99)-1)/2].Rate
	byThroughput := slices.Clone(t.Rounds)
	slices.SortStableFunc(byThroughput, func(a, b Round) int { return cmp.Compare(a.Saturation.Throughput, b.Saturation.Throughput) })
	t.Saturation = byThroughput[(len(byThroughput)-1)/2].Saturation
}

// rounds returns t's rounds, or its one pair of phases for a target built
// without them.
func (t Target) rounds() []Round {
	if len(t.Rounds) > 0 {
		return t.Rounds
	}
	return []Round{{Rate: t.Rate, Saturation: t.Saturation}}
}

// pairedMedian is the median over the rounds both a and b completed of
// f(a's round, b's round); ok is false when there is none.
func pairedMedian(a, b Target, f func(x, y Round) (float64, bool)) (float64, bool) {
	ar, br := a.rounds(), b.rounds()
	var vs []float64
	for i := range min(len(ar), len(br)) {
		if v, ok := f(ar[i], br[i]); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	if n := len(vs); n%2 == 0 {
		return (vs[n/2-1] + vs[n/2]) / 2, true
	}
	return vs[len(vs)/2], true
}

// throughputRatio is the median over rounds of a's saturation throughput
// over b's.
func throughputRatio(a, b Target) (float64, bool) {
	return pairedMedian(a, b, func(x, y Round) (float64, bool) {
		return x.Saturation.Throughput / y.Saturation.Throughput, y.Saturation.Throughput > 0
	})
}

// Phase is one measured phase of one target.
type Phase struct {
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	Seconds    float64 `json:"seconds"`
	Throughput float64 `json:"throughput"` // successful requests per second
	P50Ms      float64 `json:"p50Ms"`
	P90Ms      float64 `json:"p90Ms"`
	P99Ms      float64 `json:"p99Ms"`
	P999Ms     float64 `json:"p999Ms"`
	MaxMs      float64 `json:"maxMs"`
	// CPUSeconds is the proxy process's CPU time over the phase (0 for
	// direct); CPUPerRequestUs divides it by the requests served, and
	// CPUUtilization by the phase's wall time (1 = one core). The user and
	// system parts per request tell the proxy's own work from the
	// kernel's (sockets, loopback, scheduling).
	CPUSeconds          float64 `json:"cpuSeconds,omitempty"`
	CPUPerRequestUs     float64 `json:"cpuPerRequestUs,omitempty"`
	UserCPUPerRequestUs float64 `json:"userCpuPerRequestUs,omitempty"`
	SysCPUPerRequestUs  float64 `json:"sysCpuPerRequestUs,omitempty"`
	CPUUtilization      float64 `json:"cpuUtilization,omitempty"`

	firstError string
}

func (p *Phase) latencies(h *hdrhistogram.Histogram) {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	p.P50Ms, p.P90Ms, p.P99Ms = ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(90)), ms(h.ValueAtQuantile(99))
	p.P999Ms, p.MaxMs = ms(h.ValueAtQuantile(99.9)), ms(h.Max())
}

// cpu fills the CPU figures from the process's CPU time over the phase.
func (p *Phase) cpu(c cpuTime) {
	d := c.total()
	p.CPUSeconds = d.Seconds()
	if served := p.Requests - p.Errors; served > 0 {
		p.CPUPerRequestUs = float64(d.Microseconds()) / float64(served)
		p.UserCPUPerRequestUs = float64(c.user.Microseconds()) / float64(served)
		p.SysCPUPerRequestUs = float64(c.sys.Microseconds()) / float64(served)
	}
	if p.Seconds > 0 {
		p.CPUUtilization = p.CPUSeconds / p.Seconds
	}
}

// Find returns the named target's result.
func (r *Report) Find(name string) (Target, bool) {
	for _, t := range r.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

// compare fills every target's ratios against direct.
func (r *Report) compare() {
	d, ok := r.Find(TargetDirect)
	if !ok {
		return
	}
	for i := range r.Targets {
		t := &r.Targets[i]
		if t.Skipped != "" {
			continue
		}
		t.ThroughputRatio, _ = throughputRatio(*t, d)
		t.AddedP50Ms, _ = pairedMedian(*t, d, func(x, y Round) (float64, bool) { return x.Rate.P50Ms - y.Rate.P50Ms, true })
		t.AddedP99Ms, _ = pairedMedian(*t, d, func(x, y Round) (float64, bool) { return x.Rate.P99Ms - y.Rate.P99Ms, true })
	}
}

// noisyCores is the CPU other processes may use before a target's
// figures are flagged as disturbed.
const noisyCores = 0.1

// WriteTable prints the side-by-side table, the notes and the project's
// targets for meshbench.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "bench-proxy: %d req/s for %s (fixed rate), then %d connections closed-loop for %s (saturation), every target in each of %d rounds; warm-up %s per target\n",
		r.Rate, r.Duration, r.Connections, r.Duration, max(r.Rounds, 1), r.Warmup)
	if r.Rounds > 1 {
		fmt.Fprintf(w, "  figures are medians over the rounds; × direct, +p50, +p99 and the nginx ratio are medians of per-round comparisons\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	rate := fmt.Sprintf("@%d/s", r.Rate)
	fmt.Fprintf(tw, "target\tversion\tsat req/s\t× direct\tgot %s\tp50\tp99\t+p50\t+p99\tCPU µs/req %s\tCPU µs/req @sat\tuser+sys @sat\tCPU @sat\terrors\tother CPU\t\n", rate, rate)
	for _, t := range r.Targets {
		if t.Skipped != "" {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n", t.Name, "skipped")
			continue
		}
		direct := t.Name == TargetDirect
		dash := func(s string) string {
			if direct {
				return "-"
			}
			return s
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.2f\t%.0f/s\t%.3f ms\t%.3f ms\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.2f cores\t\n",
			t.Name, cmpOr(t.Version, "-"), t.Saturation.Throughput, t.ThroughputRatio, t.Rate.Throughput, t.Rate.P50Ms, t.Rate.P99Ms,
			dash(fmt.Sprintf("%+.3f ms", t.AddedP50Ms)), dash(fmt.Sprintf("%+.3f ms", t.AddedP99Ms)),
			dash(fmt.Sprintf("%.1f", t.Rate.CPUPerRequestUs)), dash(fmt.Sprintf("%.1f", t.Saturation.CPUPerRequestUs)),
			dash(fmt.Sprintf("%.1f + %.1f", t.Saturation.UserCPUPerRequestUs, t.Saturation.SysCPUPerRequestUs)),
			dash(fmt.Sprintf("%.0f%%", 100*t.Saturation.CPUUtilization)), t.Rate.Errors+t.Saturation.Errors, t.OtherCPU)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range r.Targets {
		if t.Skipped != "" {
			fmt.Fprintf(w, "  %s skipped: %s\n", t.Name, t.Skipped)
		}
		if t.OtherCPU > noisyCores {
			fmt.Fprintf(w, "  %s: other processes used %.2f cores meanwhile; its figures are disturbed\n", t.Name, t.OtherCPU)
		}
		for _, ph := range []struct {
			name string
			p    Phase
		}{{"fixed rate", t.Rate}, {"saturation", t.Saturation}} {
			if ph.p.firstError != "" {
				fmt.Fprintf(w, "  %s %s: %d errors, first: %s\n", t.Name, ph.name, ph.p.Errors, ph.p.firstError)
			}
		}
	}
	fmt.Fprintln(w)
	for _, line := range r.Verdicts() {
		fmt.Fprintln(w, line)
	}
	return nil
}

// Verdicts states meshbench's standing against the project's targets:
// saturation throughput at least 0.8 × nginx's in the same run, and at
// most 1 ms of added p99 at the fixed rate.
func (r *Report) Verdicts() []string {
	m, ok := r.Find(TargetMeshbench)
	if !ok || m.Skipped != "" {
		return nil
	}
	met := func(b bool) string {
		if b {
			return "met"
		}
		return "MISSED"
	}
	var out []string
	if n, ok := r.Find(TargetNginx); ok && n.Skipped == "" && n.Saturation.Throughput > 0 {
		x, _ := throughputRatio(m, n)
		out = append(out, fmt.Sprintf("target: meshbench saturation throughput = %.2f × nginx's (want ≥ 0.80): %s", x, met(x >= 0.8)))
		if n.Saturation.CPUPerRequestUs > 0 {
			out = append(out, fmt.Sprintf("        meshbench CPU per request = %.2f × nginx's (%.1f µs vs %.1f µs; user %.1f vs %.1f, kernel %.1f vs %.1f)",
				m.Saturation.CPUPerRequestUs/n.Saturation.CPUPerRequestUs, m.Saturation.CPUPerRequestUs, n.Saturation.CPUPerRequestUs,
				m.Saturation.UserCPUPerRequestUs, n.Saturation.UserCPUPerRequestUs, m.Saturation.SysCPUPerRequestUs, n.Saturation.SysCPUPerRequestUs))
		}
	} else {
		out = append(out, "target: meshbench vs nginx throughput: not measured (nginx skipped)")
	}
	out = append(out, fmt.Sprintf("target: meshbench added p99 at %d req/s = %+.3f ms (want ≤ 1 ms): %s", r.Rate, m.AddedP99Ms, met(m.AddedP99Ms <= 1)))
	// The same figure for the other proxies tells the machine's share: on
	// a VM, waking an idle core can alone cost a millisecond now and then.
	var others []string
	for _, t := range r.Targets {
		if t.Name != TargetDirect && t.Name != TargetMeshbench && t.Skipped == "" {
			others = append(others, fmt.Sprintf("%s %+.3f ms", t.Name, t.AddedP99Ms))
		}
	}
	if len(others) > 0 {
		out = append(out, "        added p99 of the other proxies in the same rounds: "+strings.Join(others, ", "))
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func cmpOr(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
