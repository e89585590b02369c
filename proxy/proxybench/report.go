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
	// Middleware, Wrk, WrkMiddleware and H2load are the further phases of
	// the round with the median throughput of each (nil when not run):
	// the middleware route with the bench's client, wrk on the plain and
	// the middleware route, h2load over h2c on the plain route.
	Middleware    *Phase `json:"middleware,omitempty"`
	Wrk           *Phase `json:"wrk,omitempty"`
	WrkMiddleware *Phase `json:"wrkMiddleware,omitempty"`
	H2load        *Phase `json:"h2load,omitempty"`
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
	// Middleware is the middleware route at saturation with the bench's
	// client (proxies only).
	Middleware *Phase `json:"middleware,omitempty"`
	// Wrk and WrkMiddleware are wrk at saturation on the plain and the
	// middleware route, H2load h2load over h2c on the plain route, when
	// installed (and, for h2load, when the target takes h2c).
	Wrk           *Phase `json:"wrk,omitempty"`
	WrkMiddleware *Phase `json:"wrkMiddleware,omitempty"`
	H2load        *Phase `json:"h2load,omitempty"`
}

// Getters of a round's phases, for medians and comparisons.
var (
	ownSat   = func(r Round) *Phase { return &r.Saturation }
	ownMw    = func(r Round) *Phase { return r.Middleware }
	wrkPlain = func(r Round) *Phase { return r.Wrk }
	wrkMw    = func(r Round) *Phase { return r.WrkMiddleware }
	h2Plain  = func(r Round) *Phase { return r.H2load }
)

// medianPhase is the phase of the round with the median throughput among
// those that ran it (nil for none).
func medianPhase(rounds []Round, get func(Round) *Phase) *Phase {
	var ps []Phase
	for _, r := range rounds {
		if p := get(r); p != nil {
			ps = append(ps, *p)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b Phase) int { return cmp.Compare(a.Throughput, b.Throughput) })
	return &ps[(len(ps)-1)/2]
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
	t.Middleware = medianPhase(t.Rounds, ownMw)
	t.Wrk = medianPhase(t.Rounds, wrkPlain)
	t.WrkMiddleware = medianPhase(t.Rounds, wrkMw)
	t.H2load = medianPhase(t.Rounds, h2Plain)
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
	// Tool is the load generator: meshbench's own client (ToolOwn, or
	// empty), wrk or h2load.
	Tool       string  `json:"tool,omitempty"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	Seconds    float64 `json:"seconds"`
	Throughput float64 `json:"throughput"` // successful requests per second
	P50Ms      float64 `json:"p50Ms"`
	P75Ms      float64 `json:"p75Ms,omitempty"` // wrk only
	P90Ms      float64 `json:"p90Ms"`
	P99Ms      float64 `json:"p99Ms"`
	P999Ms     float64 `json:"p999Ms"`
	MaxMs      float64 `json:"maxMs"`
	// MinMs, MeanMs and SdMs are the latency's minimum, mean and standard
	// deviation as wrk (mean, deviation) and h2load (all three; it gives
	// no percentiles) report them.
	MinMs  float64 `json:"minMs,omitempty"`
	MeanMs float64 `json:"meanMs,omitempty"`
	SdMs   float64 `json:"sdMs,omitempty"`
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
	fmt.Fprintln(w, "by load generator and route (figures of the median round by throughput; CPU µs/req the median over rounds):")
	if err := r.writeLoads(w); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := r.writeGoals(w); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, line := range r.Verdicts() {
		fmt.Fprintln(w, line)
	}
	return nil
}

// Goal is one of the project's targets for meshbench against nginx,
// measured with one load generator: medians over the rounds of each
// proxy's figure and of their per-round ratio.
type Goal struct {
	What      string  `json:"what"`
	Load      string  `json:"load"`
	Meshbench float64 `json:"meshbench"`
	Nginx     float64 `json:"nginx"`
	Unit      string  `json:"unit"`
	Ratio     float64 `json:"ratio"`
	// Want is "≤ 1.00", "≥ 0.80" or "" for a figure given for information.
	Want string `json:"want,omitempty"`
	Met  bool   `json:"met"`
}

// Goals compares meshbench with nginx in the same rounds: CPU per request
// on the plain route (want ≤ 1.0 × nginx's), throughput on the middleware
// route (want ≥ 0.8 ×), added p99 at the fixed rate (want ≤ 1.0 ×), each
// with every load generator that measured it. Nil when either was not
// measured.
func (r *Report) Goals() []Goal {
	m, ok1 := r.Find(TargetMeshbench)
	n, ok2 := r.Find(TargetNginx)
	if !ok1 || !ok2 || m.Skipped != "" || n.Skipped != "" {
		return nil
	}
	var out []Goal
	add := func(what, load, unit, want string, get func(Round) *Phase, val func(Phase) float64) {
		f := func(x, y Round) (float64, bool) {
			a, b := get(x), get(y)
			if a == nil || b == nil || a.Errors > 0 || b.Errors > 0 || val(*b) <= 0 {
				return 0, false
			}
			return val(*a) / val(*b), true
		}
		ratio, ok := pairedMedian(m, n, f)
		if !ok {
			return
		}
		g := Goal{What: what, Load: load, Unit: unit, Want: want, Ratio: ratio,
			Meshbench: medianOf(m, get, val), Nginx: medianOf(n, get, val)}
		switch want {
		case "≤ 1.00":
			g.Met = ratio <= 1
		case "≥ 0.80":
			g.Met = ratio >= 0.8
		}
		out = append(out, g)
	}
	cpu := func(p Phase) float64 { return p.CPUPerRequestUs }
	tput := func(p Phase) float64 { return p.Throughput }
	add("CPU per request, plain route", "own closed loop", "µs", "≤ 1.00", ownSat, cpu)
	add("CPU per request, plain route", "wrk", "µs", "≤ 1.00", wrkPlain, cpu)
	add("CPU per request, plain route", "h2load h2c", "µs", "≤ 1.00", h2Plain, cpu)
	add("throughput, middleware route", "own closed loop", "req/s", "≥ 0.80", ownMw, tput)
	add("throughput, middleware route", "wrk", "req/s", "≥ 0.80", wrkMw, tput)
	add("CPU per request, middleware route", "own closed loop", "µs", "", ownMw, cpu)
	add("CPU per request, middleware route", "wrk", "µs", "", wrkMw, cpu)
	add("throughput, plain route", "own closed loop", "req/s", "", ownSat, tput)
	add("throughput, plain route", "wrk", "req/s", "", wrkPlain, tput)
	// The added p99 of a round can be near zero or negative for either
	// proxy, which makes a per-round ratio meaningless: the ratio is that
	// of the medians.
	if d, ok := r.Find(TargetDirect); ok && len(d.rounds()) > 0 {
		g := Goal{What: fmt.Sprintf("added p99 at %d req/s", r.Rate), Load: "vegeta open loop", Unit: "ms", Want: "≤ 1.00",
			Meshbench: m.AddedP99Ms, Nginx: n.AddedP99Ms}
		switch {
		case n.AddedP99Ms > 0:
			g.Ratio = m.AddedP99Ms / n.AddedP99Ms
			g.Met = g.Ratio <= 1
		default: // no ratio to speak of (JSON has no NaN): compared as is
			g.Met = m.AddedP99Ms <= n.AddedP99Ms
		}
		out = append(out, g)
	}
	return out
}

// medianOf is the median over t's rounds of val of the phase get returns.
func medianOf(t Target, get func(Round) *Phase, val func(Phase) float64) float64 {
	var vs []float64
	for _, r := range t.rounds() {
		if p := get(r); p != nil {
			vs = append(vs, val(*p))
		}
	}
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	if n := len(vs); n%2 == 0 {
		return (vs[n/2-1] + vs[n/2]) / 2
	}
	return vs[len(vs)/2]
}

// writeLoads prints every target's phase with each load generator and
// route: what each generator reports of the latency, and the proxy's CPU
// per request.
func (r *Report) writeLoads(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "target	load	route	req/s	latency (ms)	CPU µs/req	user+sys	errors	\n")
	loads := []struct {
		load, route string
		get         func(Round) *Phase
		pick        func(Target) *Phase
	}{
		{"own closed loop", "plain", ownSat, func(t Target) *Phase { return &t.Saturation }},
		{"own closed loop", "middleware", ownMw, func(t Target) *Phase { return t.Middleware }},
		{"wrk", "plain", wrkPlain, func(t Target) *Phase { return t.Wrk }},
		{"wrk", "middleware", wrkMw, func(t Target) *Phase { return t.WrkMiddleware }},
		{"h2load h2c", "plain", h2Plain, func(t Target) *Phase { return t.H2load }},
	}
	for _, t := range r.Targets {
		if t.Skipped != "" {
			continue
		}
		for _, l := range loads {
			p := l.pick(t)
			if p == nil {
				continue
			}
			var lat string
			switch p.Tool {
			case ToolWrk:
				lat = fmt.Sprintf("p50 %.3f p75 %.3f p90 %.3f p99 %.3f max %.2f", p.P50Ms, p.P75Ms, p.P90Ms, p.P99Ms, p.MaxMs)
			case ToolH2load:
				lat = fmt.Sprintf("mean %.3f sd %.3f min %.3f max %.2f", p.MeanMs, p.SdMs, p.MinMs, p.MaxMs)
			default:
				lat = fmt.Sprintf("p50 %.3f p90 %.3f p99 %.3f max %.2f", p.P50Ms, p.P90Ms, p.P99Ms, p.MaxMs)
			}
			cpu, split := "-", "-"
			if t.Name != TargetDirect {
				cpu = fmt.Sprintf("%.1f", medianOf(t, l.get, func(p Phase) float64 { return p.CPUPerRequestUs }))
				split = fmt.Sprintf("%.1f + %.1f", p.UserCPUPerRequestUs, p.SysCPUPerRequestUs)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%d\t\n", t.Name, l.load, l.route, p.Throughput, lat, cpu, split, p.Errors)
			if p.firstError != "" {
				fmt.Fprintf(tw, "\t\t\t\tfirst error: %s\t\t\t\t\n", p.firstError)
			}
		}
	}
	return tw.Flush()
}

// writeGoals prints Goals as a table.
func (r *Report) writeGoals(w io.Writer) error {
	goals := r.Goals()
	if len(goals) == 0 {
		_, err := fmt.Fprintln(w, "targets against nginx: not measured (nginx or meshbench skipped)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "meshbench vs nginx, same rounds\tload\tmeshbench\tnginx\tratio\twant\t\t\n")
	for _, g := range goals {
		verdict := ""
		if g.Want != "" {
			verdict = "met"
			if !g.Met {
				verdict = "MISSED"
			}
		}
		val := func(v float64) string {
			switch g.Unit {
			case "ms":
				return fmt.Sprintf("%+.3f ms", v)
			case "req/s":
				return fmt.Sprintf("%.0f req/s", v)
			}
			return fmt.Sprintf("%.1f %s", v, g.Unit)
		}
		ratio := fmt.Sprintf("%.2f×", g.Ratio)
		if g.Ratio == 0 {
			ratio = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", g.What, g.Load, val(g.Meshbench), val(g.Nginx), ratio, cmpOr(g.Want, "-"), verdict)
	}
	return tw.Flush()
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
