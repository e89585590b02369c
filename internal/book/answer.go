package book

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/reports"
)

// metric is one figure variants are ranked on: an SLO's metric (of all
// requests, or of one workload's), or p99 and availability when the
// scenario sets no SLO.
type metric struct {
	// Name is the figure in prose and the key of standing.Values:
	// "p99", "availability of customers" (bench.SLOVerdict.Label).
	Name string
	// Metric is the SLO metric; Workload, when set, the workload whose
	// requests alone it is read from.
	Metric, Workload string
	// Lower is true when a smaller value is better (latencies, error rate).
	Lower bool
	// Unit is "ms", "ratio" or "rps", as in bench.SLOVerdict.
	Unit string
}

// standing is one variant's result on one backend, as the ranking sees it.
type standing struct {
	Variant      string
	Passed, SLOs int
	// Failed lists the SLOs the variant missed, in the scenario's order.
	Failed []bench.SLOVerdict
	// Missed counts the verdicts of Failed whose SLO applies to every
	// variant (commonSLOs): what the ranking compares. Common counts the
	// variant's verdicts of those SLOs.
	Missed, Common int
	// Values holds the variant's value of each ranking metric.
	Values map[string]float64
	// Untrusted is true when a repeat of the run was untrustworthy.
	Untrusted bool
	// Knee is the first repeat's knee (bench.Knee), as the page's table
	// has it; nil for a load that does not rise in steps.
	Knee *bench.Knee
	// Runs counts the variant's repeats, each with its own verdicts.
	Runs int
}

// tie is the relative difference under which two values count as equal for
// the ranking (0.5%): closer than that, a simulator's seed or a machine's
// noise decides, not the design.
const tie = 0.005

// commonSLOs are the SLOs (by sloBoundText) that apply to every variant
// run on backend. Only they rank the variants: an SLO the scenario sets
// for one variant alone (zone-failure's p50 of locality-failover,
// retry-storm's error rate of with-budget) says what that variant must do,
// and counting it would reward the variant for meeting more SLOs, or
// punish it for missing one the others were never held to.
func commonSLOs(s *bench.Summary, backend string) map[string]bool {
	var common map[string]bool
	for _, g := range reports.Groups(s) {
		if g.Key.Backend != backend || len(g.Runs) == 0 {
			continue
		}
		have := map[string]bool{}
		for _, r := range g.Runs { // a failed repeat may have no verdicts
			for _, v := range r.SLO {
				have[sloBoundText(v)] = true
			}
		}
		if common == nil {
			common = have
			continue
		}
		for k := range common {
			if !have[k] {
				delete(common, k)
			}
		}
	}
	return common
}

// rankingMetrics lists the distinct metrics the SLOs common to backend's
// variants name (commonSLOs), in the scenario's order; without any, p99
// then availability.
func rankingMetrics(s *bench.Summary, backend string) []metric {
	var out []metric
	seen := map[string]bool{}
	common := commonSLOs(s, backend)
	for _, r := range s.Runs {
		if r.Backend != backend {
			continue
		}
		for _, v := range r.SLO {
			if v.Metric == "audit" || seen[v.Label()] || !common[sloBoundText(v)] {
				continue
			}
			seen[v.Label()] = true
			out = append(out, metric{Name: v.Label(), Metric: v.Metric, Workload: v.Workload, Lower: v.Bound == "max", Unit: v.Unit})
		}
	}
	if len(out) == 0 {
		out = []metric{{Name: "p99", Metric: "p99", Lower: true, Unit: "ms"}, {Name: "availability", Metric: "availability", Unit: "ratio"}}
	}
	return out
}

// metricValue reads a metric from a group's totals (medians over repeats).
func metricValue(t reports.Totals, name string) float64 {
	switch name {
	case "p50":
		return t.P50.Median
	case "p90":
		return t.P90.Median
	case "p99":
		return t.P99.Median
	case "p999":
		return t.P999.Median
	case "mean":
		return t.Mean.Median
	case "availability":
		return t.Availability()
	case "error_rate":
		return 1 - t.Availability()
	case "throughput":
		return t.Throughput.Median
	}
	return math.NaN()
}

// standings ranks backend's variants, best first: fewest missed of the
// SLOs every variant is held to (commonSLOs), then each ranking metric in
// turn (a difference under tie is no difference), then the scenario's
// variant order.
func standings(s *bench.Summary, backend string, ms []metric) []standing {
	var out []standing
	common := commonSLOs(s, backend)
	for _, g := range reports.Groups(s) {
		if g.Key.Backend != backend {
			continue
		}
		t := g.Totals()
		st := standing{Variant: g.Key.Variant, Values: map[string]float64{}, Untrusted: t.Untrusted > 0, Knee: g.Runs[0].Knee, Runs: len(g.Runs)}
		for _, r := range g.Runs {
			for _, v := range r.SLO {
				st.SLOs++
				if common[sloBoundText(v)] {
					st.Common++
				}
				if v.Pass {
					st.Passed++
				} else {
					st.Failed = append(st.Failed, v)
					if common[sloBoundText(v)] {
						st.Missed++
					}
				}
			}
		}
		for _, m := range ms {
			if m.Workload != "" {
				st.Values[m.Name] = metricValue(g.PartTotals("workload", m.Workload), m.Metric)
				continue
			}
			st.Values[m.Name] = metricValue(t, m.Metric)
		}
		out = append(out, st)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Missed != b.Missed {
			return a.Missed < b.Missed
		}
		for _, m := range ms {
			if c := compareValues(a.Values[m.Name], b.Values[m.Name], m); c != 0 {
				return c < 0
			}
		}
		return false
	})
	return out
}

// compareValues returns −1 when a is better than b on m, +1 when worse, 0
// when they are within tie of each other (or either is missing).
func compareValues(a, b float64, m metric) int {
	if math.IsNaN(a) || math.IsNaN(b) {
		switch {
		case math.IsNaN(a) && !math.IsNaN(b):
			return 1
		case !math.IsNaN(a) && math.IsNaN(b):
			return -1
		}
		return 0
	}
	if !differ(a, b, m) {
		return 0
	}
	if (a < b) == m.Lower {
		return -1
	}
	return 1
}

// differ reports whether a and b differ materially on m: availability and
// error rate by more than 0.01 percentage points, others by more than tie.
func differ(a, b float64, m metric) bool {
	if m.Unit == "ratio" {
		return math.Abs(a-b) > 0.0001
	}
	scale := math.Max(math.Abs(a), math.Abs(b))
	return scale > 0 && math.Abs(a-b)/scale > tie
}

// Winner returns the variant that does best on backend by the ranking
// Answer explains, or "" when backend has no runs.
func Winner(s *bench.Summary, backend string) string {
	return winner(standings(s, backend, rankingMetrics(s, backend)))
}

func winner(st []standing) string {
	if len(st) == 0 {
		return ""
	}
	return st[0].Variant
}

// level reports whether variants a and b stand level in a backend's
// standings st (ranked on ms): as many of the SLOs they share missed, and
// every ranking metric within tie of each other.
func level(st []standing, ms []metric, a, b string) bool {
	var x, y *standing
	for i := range st {
		switch st[i].Variant {
		case a:
			x = &st[i]
		case b:
			y = &st[i]
		}
	}
	if x == nil || y == nil || x.Missed != y.Missed {
		return false
	}
	for _, m := range ms {
		if compareValues(x.Values[m.Name], y.Values[m.Name], m) != 0 {
			return false
		}
	}
	return true
}

// BackendLabel names a backend in prose.
func BackendLabel(b string) string {
	switch b {
	case "sim":
		return "the simulator"
	case "local":
		return "the local backend"
	case "containers":
		return "the containers backend"
	}
	return "the " + b + " backend"
}

// Answer is the one-paragraph answer to a scenario's question on one
// backend, written from the summary alone: which variant does best on the
// metrics the scenario's SLOs name and by how much against the runner-up
// and the worst, and which SLOs fail where. Nothing in it is written by
// hand, so it cannot go stale: a changed result changes the sentence.
func Answer(s *bench.Summary, backend string) string {
	ms := rankingMetrics(s, backend)
	st := standings(s, backend, ms)
	if len(st) == 0 {
		return fmt.Sprintf("No run on %s.", BackendLabel(backend))
	}
	var b strings.Builder
	on := "On " + BackendLabel(backend)
	noSLO := st[0].SLOs == 0
	best := st[0]
	if len(st) == 1 {
		fmt.Fprintf(&b, "%s, the only variant, %s, ", on, name(best.Variant))
		if noSLO {
			fmt.Fprintf(&b, "gives %s (the scenario sets no SLO).", valuesText(best, ms))
		} else {
			fmt.Fprintf(&b, "meets %s, with %s.", metText(best), valuesText(best, ms))
		}
		writeFailures(&b, st)
		writeUntrusted(&b, st)
		return b.String()
	}
	if noSLO {
		fmt.Fprintf(&b, "The scenario sets no SLO, so variants are ranked by p99, then availability. ")
	}
	// The deciding metric: the first one on which the winner and the
	// runner-up differ; with none, they tie.
	second := st[1]
	worst := st[len(st)-1]
	var decide *metric
	for i, m := range ms {
		if differ(best.Values[m.Name], second.Values[m.Name], m) {
			decide = &ms[i]
			break
		}
	}
	switch {
	case best.Missed < second.Missed:
		fmt.Fprintf(&b, "%s, %s does best: it misses %s, fewer than any other variant (next: %s, which misses %d)",
			on, name(best.Variant), missText(best.Missed, best.Common, best.Runs), name(second.Variant), second.Missed)
		if decide != nil {
			with := "with"
			if compareValues(best.Values[decide.Name], second.Values[decide.Name], *decide) > 0 {
				with = "though with" // missing fewer SLOs, it is worse on the first metric that differs
			}
			fmt.Fprintf(&b, ", %s %s %s against %s", with, decide.Name, fmtValue(best.Values[decide.Name], decide.Unit), fmtValue(second.Values[decide.Name], decide.Unit))
		}
		b.WriteString(".")
	case decide == nil:
		fmt.Fprintf(&b, "%s, %s and %s tie at the top on every metric the SLOs name (%s)",
			on, name(best.Variant), name(second.Variant), valuesText(best, ms))
		if !noSLO {
			fmt.Fprintf(&b, ", each meeting %s", metText(best))
		}
		b.WriteString(".")
	default:
		d := *decide
		fmt.Fprintf(&b, "%s, %s does best", on, name(best.Variant))
		if !noSLO {
			fmt.Fprintf(&b, " (%s)", metShort(best))
		}
		fmt.Fprintf(&b, ": its %s is %s, %s the runner-up %s's %s",
			d.Name, fmtValue(best.Values[d.Name], d.Unit), by(best.Values[d.Name], second.Values[d.Name], d), name(second.Variant), fmtValue(second.Values[d.Name], d.Unit))
		b.WriteString(".")
	}
	if len(st) > 2 && decide != nil {
		d := *decide
		// Only when the last is also worse than the runner-up on it: a
		// variant ranked last for its missed SLOs may beat the runner-up
		// on the deciding metric, and the sentence would mislead.
		if differ(best.Values[d.Name], worst.Values[d.Name], d) && compareValues(worst.Values[d.Name], second.Values[d.Name], d) > 0 {
			fmt.Fprintf(&b, " The last, %s, gives %s %s (%s %s).", name(worst.Variant), d.Name, fmtValue(worst.Values[d.Name], d.Unit),
				by(worst.Values[d.Name], best.Values[d.Name], d), name(best.Variant)+"'s")
		}
	}
	writeKneesAnswer(&b, st)
	writeFailures(&b, st)
	writePartsAnswer(&b, s, backend, reports.ByRoute)
	writePartsAnswer(&b, s, backend, reports.ByWorkload)
	writeUntrusted(&b, st)
	return b.String()
}

// writePartsAnswer adds, when the scenario has several routes (or workloads) and
// several variants, which variant serves each one best and worst: by
// availability when that differs, else by p99. A question about one
// tenant or one route is answered there, not in the run's totals.
func writePartsAnswer(b *strings.Builder, s *bench.Summary, backend, kind string) {
	var groups []reports.Group
	for _, g := range reports.Groups(s) {
		if g.Key.Backend == backend {
			groups = append(groups, g)
		}
	}
	if len(groups) < 2 {
		return
	}
	parts := groups[0].Parts(kind)
	if len(parts) < 2 {
		return
	}
	avail := metric{Name: "availability", Unit: "ratio"}
	p99 := metric{Name: "p99", Lower: true, Unit: "ms"}
	var said []string
	for _, part := range parts {
		type val struct {
			variant    string
			avail, lat float64
		}
		var vs []val
		for _, g := range groups {
			t := g.PartTotals(kind, part)
			if t.Requests == 0 {
				continue
			}
			vs = append(vs, val{g.Key.Variant, t.Availability(), t.P99.Median})
		}
		if len(vs) < 2 {
			continue
		}
		sort.SliceStable(vs, func(i, j int) bool {
			if c := compareValues(vs[i].avail, vs[j].avail, avail); c != 0 {
				return c < 0
			}
			return compareValues(vs[i].lat, vs[j].lat, p99) < 0
		})
		best, worst := vs[0], vs[len(vs)-1]
		switch {
		case differ(best.avail, worst.avail, avail):
			said = append(said, fmt.Sprintf("%s %s gets the highest availability under %s (%s) and the lowest under %s (%s)",
				kind, part, name(best.variant), fmtPct(best.avail), name(worst.variant), fmtPct(worst.avail)))
		case differ(best.lat, worst.lat, p99):
			said = append(said, fmt.Sprintf("%s %s gets the lowest p99 under %s (%s) and the highest under %s (%s)",
				kind, part, name(best.variant), fmtValue(best.lat, "ms"), name(worst.variant), fmtValue(worst.lat, "ms")))
		default:
			said = append(said, fmt.Sprintf("%s %s is served alike by every variant (availability %s, p99 %s)",
				kind, part, fmtPct(best.avail), fmtValue(best.lat, "ms")))
		}
	}
	if len(said) > 0 {
		fmt.Fprintf(b, " By %s: %s.", kind, strings.Join(said, "; "))
	}
}

// by says how a compares with b on m, from a's side: "38% lower than",
// "0.42 percentage points higher than", "the same as".
func by(a, b float64, m metric) string {
	if !differ(a, b, m) {
		return "the same as"
	}
	dir := "lower"
	if a > b {
		dir = "higher"
	}
	if m.Unit == "ratio" {
		return fmt.Sprintf("%s percentage points %s than", trimFloat(math.Abs(a-b)*100, 2), dir)
	}
	if b > 0 && a/b >= 2 {
		return fmt.Sprintf("%s times", trimFloat(a/b, 1))
	}
	pct := math.Abs(a-b) / math.Abs(b) * 100
	return fmt.Sprintf("%s%% %s than", trimFloat(pct, 0), dir)
}

// writeKneesAnswer says where each variant's latency SLO was first
// exceeded, when the load rose in steps: a capacity test's question.
func writeKneesAnswer(b *strings.Builder, st []standing) {
	var first *bench.Knee
	var parts []string
	for _, s := range st {
		if s.Knee == nil {
			continue
		}
		if first == nil {
			first = s.Knee
		}
		parts = append(parts, name(s.Variant)+" "+kneeText(s.Knee))
	}
	if first == nil {
		return
	}
	metric := kneeMetric(first.Metric)
	fmt.Fprintf(b, " The knee, the offered rate at which %s first exceeds %s ms: %s.", metric, strconv.FormatFloat(first.MaxMS, 'f', -1, 64), strings.Join(parts, ", "))
}

func writeFailures(b *strings.Builder, st []standing) {
	var failing []string
	any := false
	for _, s := range st {
		if s.SLOs > 0 {
			any = true
		}
		if len(s.Failed) == 0 {
			continue
		}
		var what []string
		for _, v := range s.Failed {
			what = append(what, fmt.Sprintf("%s %s (%s)", v.Label(), fmtValue(v.Value, v.Unit), sloBound(v)))
		}
		failing = append(failing, fmt.Sprintf("%s — %s", name(s.Variant), strings.Join(what, ", ")))
	}
	switch {
	case !any:
	case len(failing) == 0 && len(st) > 1:
		b.WriteString(" Every variant meets every SLO that applies to it.")
	case len(failing) == 0:
	default:
		if len(st[0].Failed) > 0 {
			b.WriteString(" No variant meets every SLO.")
		}
		fmt.Fprintf(b, " SLOs missed: %s.", strings.Join(failing, "; "))
	}
}

// countText words n of total SLO verdicts, with word after the count
// ("met", or nothing): "2 of 3 SLOs met", or over repeats, where each
// repeat has its verdicts, "5 of 6 SLO verdicts met over 3 repeats".
func countText(n, total, runs int, word string) string {
	if word != "" {
		word = " " + word
	}
	if runs > 1 {
		return fmt.Sprintf("%d of %d SLO verdicts%s over %d repeats", n, total, word, runs)
	}
	return fmt.Sprintf("%d of %d SLOs%s", n, total, word)
}

// metText words how many of its SLO verdicts a variant met: "2 of 3
// SLOs"; metShort says "met" too: "2 of 3 SLOs met".
func metText(s standing) string  { return countText(s.Passed, s.SLOs, s.Runs, "") }
func metShort(s standing) string { return countText(s.Passed, s.SLOs, s.Runs, "met") }

// missText words a count of missed SLOs: "no SLO", "1 of 3 SLOs"; over
// several runs, SLO verdicts.
func missText(n, total, runs int) string {
	if n == 0 {
		return "no SLO"
	}
	return countText(n, total, runs, "")
}

func writeUntrusted(b *strings.Builder, st []standing) {
	var names []string
	for _, s := range st {
		if s.Untrusted {
			names = append(names, name(s.Variant))
		}
	}
	if len(names) > 0 {
		fmt.Fprintf(b, " The load generator fell behind its schedule on %s: those figures are not trustworthy.", strings.Join(names, ", "))
	}
}

func valuesText(s standing, ms []metric) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, m.Name+" "+fmtValue(s.Values[m.Name], m.Unit))
	}
	return strings.Join(parts, ", ")
}

// Agreement says whether the simulator's prediction and the real backend's
// measurement agree, for a summary holding both: the same winner, the same
// SLO verdicts, and how far the simulator's p50, p99 and availability are
// from the measurement.
func Agreement(s *bench.Summary, real string) string {
	simMS, realMS := rankingMetrics(s, "sim"), rankingMetrics(s, real)
	simSt, realSt := standings(s, "sim", simMS), standings(s, real, realMS)
	simW, realW := winner(simSt), winner(realSt)
	if simW == "" || realW == "" {
		return fmt.Sprintf("No pair of simulator and %s runs to compare.", real)
	}
	rows := Predictions(s, real)
	var b strings.Builder
	// Verdicts: per variant and SLO metric, in order.
	match, total := 0, 0
	var differ []string
	for _, r := range rows {
		for i := range r.SimSLO {
			if i >= len(r.RealSLO) || r.SimSLO[i].Label() != r.RealSLO[i].Label() {
				continue
			}
			total++
			if r.SimSLO[i].Pass == r.RealSLO[i].Pass {
				match++
				continue
			}
			sv, rv := "passes", "fails"
			if !r.SimSLO[i].Pass {
				sv, rv = "fails", "passes"
			}
			differ = append(differ, fmt.Sprintf("%s's %s %s on the simulator and %s on %s", name(r.Variant), r.SimSLO[i].Label(), sv, rv, real))
		}
	}
	// Two variants level at the top on either side are no disagreement:
	// which of them is named first is the scenario's order there.
	simTie := simW != realW && level(simSt, simMS, simW, realW)
	realTie := simW != realW && !simTie && level(realSt, realMS, realW, simW)
	word := "agree"
	switch {
	case simW != realW && len(rows) > 1 && !simTie && !realTie:
		word = "disagree"
	case 2*match < total:
		// Fewer than half the verdicts match: the same winner is not
		// agreement.
		word = "disagree"
	case match < total:
		word = "partly agree"
	}
	fmt.Fprintf(&b, "The simulator and %s %s", BackendLabel(real), word)
	switch {
	case len(rows) <= 1:
		b.WriteString(" on the one variant")
	case simW == realW:
		fmt.Fprintf(&b, ": both rank %s first", name(simW))
	case simTie:
		fmt.Fprintf(&b, ": the simulator puts %s and %s level at the top, %s measures %s best", name(simW), name(realW), real, name(realW))
	case realTie:
		fmt.Fprintf(&b, ": the simulator ranks %s first, %s measures it level with %s at the top", name(simW), real, name(realW))
	default:
		fmt.Fprintf(&b, ": the simulator ranks %s first, %s measures %s best", name(simW), real, name(realW))
	}
	if total > 0 {
		fmt.Fprintf(&b, ", and %d of %d SLO verdicts match", match, total)
	}
	b.WriteString(".")
	if len(differ) > 0 {
		fmt.Fprintf(&b, " Verdicts that differ: %s.", strings.Join(differ, "; "))
	}
	p50lo, p50hi := errRange(rows, func(r Prediction) float64 { return r.P50Err })
	p99lo, p99hi := errRange(rows, func(r Prediction) float64 { return r.P99Err })
	avMax := 0.0
	for _, r := range rows {
		avMax = math.Max(avMax, math.Abs(r.AvailPP))
	}
	fmt.Fprintf(&b, " The simulator's p50 is %s and its p99 %s the measured one; availability differs by at most %s percentage points.",
		spanText(p50lo, p50hi), spanText(p99lo, p99hi), trimFloat(avMax, 2))
	if klo, khi := errRange(rows, func(r Prediction) float64 { return r.KneeErr }); !math.IsInf(klo, 1) {
		fmt.Fprintf(&b, " Its knee, the offered rate at which the latency SLO is first exceeded, is %s the measured one.", spanText(klo, khi))
	}
	return b.String()
}

// Prediction is one variant's simulator figures beside a real backend's.
type Prediction struct {
	Variant                    string
	SimP50, RealP50, P50Err    float64
	SimP99, RealP99, P99Err    float64
	SimP999, RealP999, P999Err float64
	SimAvail, RealAvail        float64
	AvailPP                    float64 // sim − real, percentage points
	// KneeErr is the knees' relative error (bench.Knee), NaN when either
	// side has none.
	KneeErr                     float64
	SimSLO, RealSLO             []bench.SLOVerdict
	SimPassed, RealPassed, SLOs int
	RealUntrusted               bool
}

// Predictions pairs each variant's simulator group with its real one.
// Errors are relative, (sim − real)/real.
func Predictions(s *bench.Summary, real string) []Prediction {
	groups := reports.Groups(s)
	simG := map[string]reports.Group{}
	for _, g := range groups {
		if g.Key.Backend == "sim" {
			simG[g.Key.Variant] = g
		}
	}
	var out []Prediction
	for _, g := range groups {
		if g.Key.Backend != real {
			continue
		}
		sg, ok := simG[g.Key.Variant]
		if !ok {
			continue
		}
		st, rt := sg.Totals(), g.Totals()
		p := Prediction{Variant: g.Key.Variant,
			SimP50: st.P50.Median, RealP50: rt.P50.Median,
			SimP99: st.P99.Median, RealP99: rt.P99.Median,
			SimP999: st.P999.Median, RealP999: rt.P999.Median,
			SimAvail: st.Availability(), RealAvail: rt.Availability(),
			SimPassed: st.SLOPassed, RealPassed: rt.SLOPassed, SLOs: rt.SLOTotal,
			RealUntrusted: rt.Untrusted > 0,
		}
		p.P50Err = relErr(p.SimP50, p.RealP50)
		p.P99Err = relErr(p.SimP99, p.RealP99)
		p.P999Err = relErr(p.SimP999, p.RealP999)
		p.AvailPP = (p.SimAvail - p.RealAvail) * 100
		p.KneeErr = math.NaN()
		if sk, rk := sg.Runs[0].Knee, g.Runs[0].Knee; sk != nil && rk != nil {
			p.KneeErr = relErr(sk.RateRPS, rk.RateRPS)
		}
		p.SimSLO = sg.Runs[0].SLO
		p.RealSLO = g.Runs[0].SLO
		out = append(out, p)
	}
	return out
}

func relErr(sim, real float64) float64 {
	if real == 0 || math.IsNaN(real) || math.IsNaN(sim) {
		return math.NaN()
	}
	return (sim - real) / real
}

func errRange(rows []Prediction, f func(Prediction) float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		v := f(r)
		if math.IsNaN(v) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return lo, hi
}

// spanText words a range of relative errors: "12–16% below", "4% below to
// 12% above", "within 1% of".
func spanText(lo, hi float64) string {
	if math.IsInf(lo, 1) {
		return "not comparable with"
	}
	pct := func(v float64) string { return trimFloat(math.Abs(v)*100, 0) + "%" }
	switch {
	case math.Abs(lo) < 0.01 && math.Abs(hi) < 0.01:
		return "within 1% of"
	case hi < 0 && lo == hi:
		return pct(lo) + " below"
	case hi < 0:
		return rangePct(-hi, -lo) + " below"
	case lo > 0 && lo == hi:
		return pct(lo) + " above"
	case lo > 0:
		return rangePct(lo, hi) + " above"
	}
	return pct(lo) + " below to " + pct(hi) + " above"
}

func rangePct(a, b float64) string {
	x, y := trimFloat(a*100, 0), trimFloat(b*100, 0)
	if x == y {
		return x + "%"
	}
	return x + "–" + y + "%"
}

// name prints a variant name in prose; a scenario without variants runs
// one called "" or "default".
func name(v string) string {
	if v == "" {
		return "the scenario's policy"
	}
	return v
}

func sloBound(v bench.SLOVerdict) string {
	op := "≤"
	if v.Bound == "min" {
		op = "≥"
	}
	return op + " " + reports.FormatThreshold(v.Threshold, v.Unit)
}

// fmtValue prints a metric's value in its unit: "41.2 ms", "99.95%",
// "398 req/s".
func fmtValue(v float64, unit string) string {
	if math.IsNaN(v) {
		return "–"
	}
	switch unit {
	case "ms":
		return fmtMS(v) + " ms"
	case "ratio":
		return fmtPct(v)
	case "rps":
		return trimFloat(v, 1) + " req/s"
	case "payments":
		return trimFloat(v, 0) + " payments"
	}
	return trimFloat(v, 3) + " " + unit
}

// fmtMS prints a latency with three significant digits or so.
func fmtMS(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// fmtPct prints a ratio as a percentage with up to three decimals.
func fmtPct(r float64) string {
	if math.IsNaN(r) {
		return "–"
	}
	return strconv.FormatFloat(r*100, 'f', 3, 64) + "%"
}

func trimFloat(v float64, prec int) string {
	return strconv.FormatFloat(v, 'f', prec, 64)
}
