package outlier

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func sec(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("h%d", i)
	}
	return out
}

func newDetector(t testing.TB, cfg Config, hosts int) *Detector {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.SetHosts(t0, ids(hosts))
	return d
}

// feed records outcomes for id at now, one after another, and returns the index
// of the outcome that produced an event with that event, or -1.
func feed(d *Detector, now time.Time, id string, os ...Outcome) (int, Event) {
	at, ev := -1, Event{}
	for i, o := range os {
		if evs := d.Record(now, id, o); len(evs) > 0 {
			at, ev = i, evs[0]
		}
	}
	return at, ev
}

func times(n int, o Outcome) []Outcome {
	out := make([]Outcome, n)
	for i := range out {
		out[i] = o
	}
	return out
}

func seq(parts ...[]Outcome) []Outcome {
	var out []Outcome
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

const (
	S   = Success
	E5  = Error5xx
	GW  = GatewayFailure
	LOC = LocalOriginFailure
)

func TestConsecutiveEjections(t *testing.T) {
	gw3 := Config{ConsecutiveGatewayFailure: 3, EnforcingConsecutiveGatewayFailure: 100}
	split := Config{SplitExternalLocalOriginErrors: true}
	tests := []struct {
		name     string
		cfg      Config
		outcomes []Outcome
		wantAt   int // index of the outcome that ejects; -1 for none
		want     Reason
	}{
		{"fifth 5xx in a row ejects at once", Config{}, times(5, E5), 4, ReasonConsecutive5xx},
		{"a success breaks the run", Config{}, seq(times(4, E5), []Outcome{S}, times(4, E5)), -1, 0},
		{"gateway failures count as 5xx", Config{}, times(5, GW), 4, ReasonConsecutive5xx},
		{"gateway detector ejects when enforced", gw3, []Outcome{GW, GW, GW}, 2, ReasonConsecutiveGatewayFailure},
		{"a 500 breaks a gateway run but not a 5xx run", gw3, []Outcome{GW, GW, E5, GW, GW}, 4, ReasonConsecutive5xx},
		{"unsplit local failures are gateway failures", gw3, []Outcome{LOC, GW, LOC}, 2, ReasonConsecutiveGatewayFailure},
		{"threshold is configurable", Config{Consecutive5xx: 2}, []Outcome{E5, E5}, 1, ReasonConsecutive5xx},
		{"None turns consecutive 5xx off", Config{Consecutive5xx: None}, times(50, E5), -1, 0},
		{"None enforcement detects but never ejects", Config{EnforcingConsecutive5xx: None}, times(10, E5), -1, 0},
		{"split: local failures have their own run", split, times(5, LOC), 4, ReasonConsecutiveLocalOriginFailure},
		{"split: a response breaks a local run", split, seq(times(4, LOC), []Outcome{E5}, times(4, LOC)), -1, 0},
		{"split: local failures do not feed the 5xx run", split, seq(times(4, E5), times(3, LOC), []Outcome{E5}), 7, ReasonConsecutive5xx},
		{"split: local run ignores 5xx responses", Config{SplitExternalLocalOriginErrors: true, ConsecutiveLocalOriginFailure: None}, seq(times(4, E5), times(20, LOC)), -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDetector(t, tt.cfg, 10)
			now := sec(1)
			at, ev := feed(d, now, "h0", tt.outcomes...)
			if at != tt.wantAt {
				t.Fatalf("ejected at outcome %d, want %d (event %+v)", at, tt.wantAt, ev)
			}
			if at < 0 {
				if d.Ejected("h0") {
					t.Fatal("Ejected(h0) with no event")
				}
				return
			}
			want := Event{ID: "h0", Ejected: true, Reason: tt.want, At: now, Until: now.Add(DefaultBaseEjectionTime)}
			if ev != want {
				t.Fatalf("event %+v, want %+v", ev, want)
			}
			if !d.Ejected("h0") || d.Ejected("h1") {
				t.Fatalf("Ejected(h0)=%v Ejected(h1)=%v", d.Ejected("h0"), d.Ejected("h1"))
			}
			if evs := d.Record(now, "h0", E5); evs != nil {
				t.Fatalf("outcome for an ejected host produced %+v", evs)
			}
		})
	}
}

func TestDetectedWithoutEnforcementIsCounted(t *testing.T) {
	d := newDetector(t, Config{}, 10) // gateway detector: Envoy enforces 0%
	feed(d, sec(1), "h0", times(5, GW)...)
	st := d.Stats()
	if st.Detected[ReasonConsecutiveGatewayFailure] != 1 || st.Enforced[ReasonConsecutiveGatewayFailure] != 0 {
		t.Errorf("gateway detected/enforced = %d/%d, want 1/0", st.Detected[ReasonConsecutiveGatewayFailure], st.Enforced[ReasonConsecutiveGatewayFailure])
	}
	if st.Enforced[ReasonConsecutive5xx] != 1 || st.Active != 1 {
		t.Errorf("stats %+v, want one consecutive_5xx ejection", st)
	}
}

func TestMaxEjectionPercent(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		hosts int
		want  int
	}{
		{"default 10% of 5 hosts ejects none (strict, as Envoy)", Config{}, 5, 0},
		{"always eject one host", Config{AlwaysEjectOneHost: true}, 5, 1},
		{"10% of 10 hosts is one", Config{}, 10, 1},
		{"10% of 19 hosts is one", Config{}, 19, 1},
		{"10% of 20 hosts is two", Config{}, 20, 2},
		{"50% of 4 hosts is two", Config{MaxEjectionPercent: 50}, 4, 2},
		{"33% of 3 hosts is none", Config{MaxEjectionPercent: 33}, 3, 0},
		{"34% of 3 hosts is one", Config{MaxEjectionPercent: 34}, 3, 1},
		{"None ejects nothing", Config{MaxEjectionPercent: None}, 10, 0},
		{"None with always-one ejects one", Config{MaxEjectionPercent: None, AlwaysEjectOneHost: true}, 10, 1},
		{"100% ejects all", Config{MaxEjectionPercent: 100}, 6, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDetector(t, tt.cfg, tt.hosts)
			for _, id := range ids(tt.hosts) {
				feed(d, sec(1), id, times(5, E5)...)
			}
			st := d.Stats()
			if st.Active != tt.want {
				t.Fatalf("%d ejected, want %d", st.Active, tt.want)
			}
			if got := st.Overflow; got != uint64(tt.hosts-tt.want) {
				t.Errorf("overflow %d, want %d", got, tt.hosts-tt.want)
			}
		})
	}
}

// interval records, for each host, total requests of which failures fail, spread
// so that no run of failures is longer than two.
func interval(d *Detector, now time.Time, total, fail []int) {
	for i := range total {
		id := fmt.Sprintf("h%d", i)
		f := 0
		for k := range total[i] {
			// Fail on the first two of every three requests until fail is spent.
			o := S
			if f < fail[i] && (k%3 != 2 || total[i]-k <= fail[i]-f) {
				o = E5
				f++
			}
			d.Record(now, id, o)
		}
	}
}

func filled(n, v int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestSuccessRate(t *testing.T) {
	noConsecutive := func(c Config) Config { c.Consecutive5xx = None; return c }
	tests := []struct {
		name    string
		cfg     Config
		total   []int
		fail    []int
		want    []string // ejected hosts, in event order
		wantSR0 float64  // h0's recorded success rate
	}{
		{"outlier among ten hosts", Config{}, filled(10, 100), []int{0, 0, 0, 30, 0, 0, 0, 0, 0, 0}, []string{"h3"}, 100},
		{"Envoy's example: 50 among 100s, threshold 52", Config{MaxEjectionPercent: 20},
			filled(5, 100), []int{50, 0, 0, 0, 0}, []string{"h0"}, 50},
		{"equal rates have no outlier", Config{}, filled(10, 100), filled(10, 10), nil, 90},
		{"fewer hosts than the minimum", Config{MaxEjectionPercent: 100}, filled(4, 100), []int{60, 0, 0, 0}, nil, -1},
		{"below the request volume", Config{}, filled(10, 99), []int{0, 0, 0, 50, 0, 0, 0, 0, 0, 0}, nil, 100},
		{"a stdev factor of 3 spares the outlier", Config{SuccessRate: SuccessRate{StdevFactor: 3}}, filled(10, 100), []int{0, 0, 0, 30, 0, 0, 0, 0, 0, 0}, nil, 100},
		{"Envoy's x1000 form: 3000 is 3", Config{SuccessRate: SuccessRate{StdevFactor: 3000}}, filled(10, 100), []int{0, 0, 0, 30, 0, 0, 0, 0, 0, 0}, nil, 100},
		{"Envoy's x1000 form: 1900 is 1.9", Config{SuccessRate: SuccessRate{StdevFactor: 1900}}, filled(10, 100), []int{0, 0, 0, 30, 0, 0, 0, 0, 0, 0}, []string{"h3"}, 100},
		{"worst outlier goes first when only one may", Config{SuccessRate: SuccessRate{StdevFactor: 0.5}}, filled(10, 100), []int{0, 0, 40, 0, 0, 0, 0, 0, 60, 0}, []string{"h8"}, 100},
		{"enforcement None detects only", Config{SuccessRate: SuccessRate{Enforcing: None}}, filled(10, 100), []int{0, 0, 0, 30, 0, 0, 0, 0, 0, 0}, nil, 100},
		{"failure percentage off by default", noConsecutive(Config{MaxEjectionPercent: 100}), filled(5, 50), []int{45, 0, 0, 0, 0}, nil, 10},
		{"failure percentage at the threshold ejects", noConsecutive(Config{MaxEjectionPercent: 100, FailurePercentage: FailurePercentage{Enforcing: 100}}),
			filled(5, 60), []int{51, 50, 0, 0, 0}, []string{"h0"}, 15},
		{"failure percentage needs its minimum hosts", noConsecutive(Config{MaxEjectionPercent: 100, FailurePercentage: FailurePercentage{Enforcing: 100, MinimumHosts: 6}}),
			filled(5, 60), []int{60, 0, 0, 0, 0}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDetector(t, tt.cfg, len(tt.total))
			interval(d, sec(1), tt.total, tt.fail)
			if d.Stats().Active != 0 {
				t.Fatalf("ejection before the sweep: %+v", d.Stats())
			}
			evs := d.Sweep(sec(10))
			var got []string
			for _, e := range evs {
				if !e.Ejected || e.At != sec(10) || e.Until != sec(40) {
					t.Errorf("unexpected event %+v", e)
				}
				got = append(got, e.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ejected %v, want %v", got, tt.want)
			}
			wantOverflow := uint64(0)
			if tt.name == "worst outlier goes first when only one may" {
				wantOverflow = 1 // h2 was an outlier too
			}
			if o := d.Stats().Overflow; o != wantOverflow {
				t.Errorf("overflow %d, want %d", o, wantOverflow)
			}
			st, _ := d.Status("h0")
			wantSR := tt.wantSR0
			if tt.total[0] < DefaultFailurePercentageRequestVolume {
				wantSR = -1
			}
			if st.SuccessRate != wantSR {
				t.Errorf("h0 success rate %v, want %v", st.SuccessRate, wantSR)
			}
			// The next interval has no traffic: nothing more happens.
			if evs := d.Sweep(sec(20)); len(evs) != 0 {
				t.Errorf("empty interval produced %+v", evs)
			}
		})
	}
}

func TestEjectionTimeGrowsAndHostsReturn(t *testing.T) {
	cfg := Config{BaseEjectionTime: 10 * time.Second, MaxEjectionTime: 25 * time.Second, Interval: 10 * time.Second}
	d := newDetector(t, cfg, 10)
	type step struct {
		at        int // seconds
		fail      bool
		wantEvent Event
	}
	steps := []step{
		{at: 0, fail: true, wantEvent: Event{ID: "h0", Ejected: true, Reason: ReasonConsecutive5xx, At: sec(0), Until: sec(10)}},
		{at: 9},
		{at: 10, wantEvent: Event{ID: "h0", Reason: ReasonConsecutive5xx, At: sec(10)}},
		{at: 10, fail: true, wantEvent: Event{ID: "h0", Ejected: true, Reason: ReasonConsecutive5xx, At: sec(10), Until: sec(30)}},
		{at: 20},
		{at: 30, wantEvent: Event{ID: "h0", Reason: ReasonConsecutive5xx, At: sec(30)}},
		{at: 30, fail: true, wantEvent: Event{ID: "h0", Ejected: true, Reason: ReasonConsecutive5xx, At: sec(30), Until: sec(55)}}, // 30s capped at 25s
		{at: 50},
		{at: 55, wantEvent: Event{ID: "h0", Reason: ReasonConsecutive5xx, At: sec(55)}},
		{at: 55, fail: true, wantEvent: Event{ID: "h0", Ejected: true, Reason: ReasonConsecutive5xx, At: sec(55), Until: sec(80)}},
	}
	for i, s := range steps {
		var evs []Event
		if s.fail {
			_, ev := feed(d, sec(s.at), "h0", times(5, E5)...)
			if ev != (Event{}) {
				evs = []Event{ev}
			}
		} else {
			evs = d.Sweep(sec(s.at))
		}
		var want []Event
		if s.wantEvent != (Event{}) {
			want = []Event{s.wantEvent}
		}
		if !reflect.DeepEqual(evs, want) {
			t.Fatalf("step %d at %ds: events %+v, want %+v", i, s.at, evs, want)
		}
	}
	st, _ := d.Status("h0")
	if st.Ejections != 4 || st.Multiplier != 4 {
		t.Errorf("status %+v, want 4 ejections at multiplier 4", st)
	}
}

func TestMultiplierShrinksWhileWell(t *testing.T) {
	cfg := Config{BaseEjectionTime: 10 * time.Second, Interval: 10 * time.Second}
	tests := []struct {
		name      string
		reEjectAt int // seconds; sweeps run every 10s until then
		wantUntil int
	}{
		{"re-ejected within an interval of returning: doubled", 15, 35},
		{"well for one interval after returning: back to base", 31, 41},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDetector(t, cfg, 10)
			feed(d, sec(0), "h0", times(5, E5)...) // ejected until 10s, multiplier 1
			for s := 10; s < tt.reEjectAt; s += 10 {
				d.Sweep(sec(s))
			}
			if d.Ejected("h0") {
				t.Fatal("h0 did not return")
			}
			_, ev := feed(d, sec(tt.reEjectAt), "h0", times(5, E5)...)
			if ev.Until != sec(tt.wantUntil) {
				t.Fatalf("until %v, want %v", ev.Until.Sub(t0), sec(tt.wantUntil).Sub(t0))
			}
		})
	}
}

func TestReturnedHostStartsClean(t *testing.T) {
	d := newDetector(t, Config{}, 10)
	feed(d, sec(0), "h0", times(3, E5)...)
	feed(d, sec(0), "h0", times(2, E5)...)
	if !d.Ejected("h0") {
		t.Fatal("not ejected")
	}
	d.Sweep(sec(30))
	if d.Ejected("h0") {
		t.Fatal("not returned after the ejection time")
	}
	if at, _ := feed(d, sec(31), "h0", times(4, E5)...); at >= 0 {
		t.Fatal("four errors after return ejected: counters were not reset")
	}
	if at, _ := feed(d, sec(31), "h0", E5); at != 0 {
		t.Fatal("fifth error after return did not eject")
	}
}

func TestJitter(t *testing.T) {
	cfg := Config{MaxEjectionTimeJitter: 5 * time.Second, MaxEjectionPercent: 100, Rand: rand.New(rand.NewPCG(1, 2))}
	d := newDetector(t, cfg, 50)
	distinct := map[time.Time]bool{}
	for _, id := range ids(50) {
		_, ev := feed(d, sec(0), id, times(5, E5)...)
		if ev.Until.Before(sec(30)) || ev.Until.After(sec(35)) {
			t.Fatalf("until %v outside [30s, 35s]", ev.Until.Sub(t0))
		}
		distinct[ev.Until] = true
	}
	if len(distinct) < 40 {
		t.Errorf("only %d distinct return times among 50", len(distinct))
	}
	if evs := d.Sweep(sec(35)); len(evs) != 50 {
		t.Errorf("%d returned at 35s, want 50", len(evs))
	}
}

func TestEnforcementIsDrawnAndDeterministic(t *testing.T) {
	run := func() []Event {
		cfg := Config{EnforcingConsecutive5xx: 50, MaxEjectionPercent: 100, Rand: rand.New(rand.NewPCG(7, 7))}
		d := newDetector(t, cfg, 400)
		var evs []Event
		for _, id := range ids(400) {
			for range 5 {
				evs = append(evs, d.Record(sec(0), id, E5)...)
			}
		}
		return evs
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different events")
	}
	if len(a) < 150 || len(a) > 250 {
		t.Errorf("%d of 400 detections enforced at 50%%", len(a))
	}
}

func TestSetHosts(t *testing.T) {
	d := newDetector(t, Config{}, 10)
	feed(d, sec(0), "h0", times(5, E5)...)
	feed(d, sec(0), "h1", times(4, E5)...)
	d.SetHosts(sec(1), []string{"h1", "h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9", "new"})
	if !d.Ejected("h0") {
		t.Fatal("h0 lost its ejection")
	}
	if at, _ := feed(d, sec(1), "h1", E5); at != -1 {
		t.Fatal("h1 ejected past the limit") // 1 of 11 already ejected
	}
	d.SetHosts(sec(2), append(ids(10)[1:], "new")) // h0 removed: its share is free again
	if d.Stats().Active != 0 {
		t.Fatalf("active %d after removing the ejected host", d.Stats().Active)
	}
	// The refused detection restarted h1's run: five more errors are needed.
	if at, _ := feed(d, sec(2), "h1", times(5, E5)...); at != 4 {
		t.Fatalf("h1 ejected at %d, want 4", at)
	}
	if _, ok := d.Status("h0"); ok {
		t.Error("removed host still has a status")
	}
	if evs := d.Record(sec(2), "unknown", E5); evs != nil {
		t.Error("unknown host produced events")
	}
}

func TestUneject(t *testing.T) {
	d := newDetector(t, Config{}, 10)
	feed(d, sec(0), "h0", times(5, E5)...)
	ev, ok := d.Uneject(sec(3), "h0")
	if !ok || ev != (Event{ID: "h0", Reason: ReasonConsecutive5xx, At: sec(3)}) {
		t.Fatalf("Uneject = %+v, %v", ev, ok)
	}
	if d.Ejected("h0") {
		t.Fatal("still ejected")
	}
	if _, ok := d.Uneject(sec(3), "h0"); ok {
		t.Error("second Uneject reported a change")
	}
	if evs := d.Sweep(sec(30)); len(evs) != 0 {
		t.Errorf("sweep after Uneject returned %+v", evs)
	}
}

func TestRecordUnknownOutcomePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	newDetector(t, Config{}, 1).Record(t0, "h0", Outcome(42))
}

func TestFromStatus(t *testing.T) {
	tests := []struct {
		status int
		want   Outcome
	}{
		{200, Success}, {204, Success}, {404, Success}, {429, Success},
		{500, Error5xx}, {501, Error5xx}, {505, Error5xx}, {599, Error5xx},
		{502, GatewayFailure}, {503, GatewayFailure}, {504, GatewayFailure},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			if got := FromStatus(tt.status); got != tt.want {
				t.Errorf("FromStatus(%d) = %v, want %v", tt.status, got, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"zero", Config{}, false},
		{"None everywhere an int may be", Config{MaxEjectionPercent: None, Consecutive5xx: None, EnforcingConsecutive5xx: None,
			SuccessRate: SuccessRate{MinimumHosts: None}, FailurePercentage: FailurePercentage{Threshold: None}}, false},
		{"negative interval", Config{Interval: -1}, true},
		{"absurd base ejection time", Config{BaseEjectionTime: 20 * 365 * 24 * time.Hour}, true},
		{"max below base", Config{BaseEjectionTime: time.Minute, MaxEjectionTime: time.Second}, true},
		{"base above default max is fine", Config{BaseEjectionTime: 10 * time.Minute}, false},
		{"percent above 100", Config{MaxEjectionPercent: 101}, true},
		{"enforcing above 100", Config{SuccessRate: SuccessRate{Enforcing: 150}}, true},
		{"negative stdev factor", Config{SuccessRate: SuccessRate{StdevFactor: -1}}, true},
		{"negative jitter", Config{MaxEjectionTimeJitter: -time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%v does not wrap ErrInvalidConfig", err)
			}
			if _, nerr := New(tt.cfg); (nerr != nil) != tt.wantErr {
				t.Errorf("New error %v, want error %v", nerr, tt.wantErr)
			}
		})
	}
}

func TestDefaultMaxEjectionTimeFollowsBase(t *testing.T) {
	tests := []struct {
		name string
		base time.Duration
		want time.Duration
	}{
		{"default base", 0, DefaultMaxEjectionTime},
		{"base below 300s", time.Minute, DefaultMaxEjectionTime},
		{"base above 300s", 10 * time.Minute, 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Config{BaseEjectionTime: tt.base}).resolve().maxEjection; got != tt.want {
				t.Errorf("max ejection %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	if got := ReasonFailurePercentageLocalOrigin.String(); got != "failure_percentage_local_origin" {
		t.Error(got)
	}
	if got := Reason(0).String(); got != "Reason(0)" {
		t.Error(got)
	}
	if got := LocalOriginFailure.String(); got != "local_origin_failure" {
		t.Error(got)
	}
}

func ExampleDetector() {
	d, _ := New(Config{}) // Envoy's defaults: 5 consecutive 5xx, 30s base ejection
	d.SetHosts(t0, ids(10))
	for range 5 {
		for _, e := range d.Record(t0, "h3", FromStatus(500)) {
			fmt.Println(e.ID, e.Ejected, e.Reason, e.Until.Sub(e.At))
		}
	}
	for _, e := range d.Sweep(t0.Add(30 * time.Second)) {
		fmt.Println(e.ID, e.Ejected)
	}
	// Output:
	// h3 true consecutive_5xx 30s
	// h3 false
}

func TestSplitLocalOriginSuccessRate(t *testing.T) {
	d := newDetector(t, Config{SplitExternalLocalOriginErrors: true}, 10)
	for _, id := range ids(10) {
		for k := range 100 {
			if id == "h5" && k < 40 {
				d.Record(sec(1), id, LOC) // 40 local failures, never more than one in a row
			}
			d.Record(sec(1), id, S)
		}
	}
	evs := d.Sweep(sec(10))
	want := []Event{{ID: "h5", Ejected: true, Reason: ReasonSuccessRateLocalOrigin, At: sec(10), Until: sec(40)}}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("events %+v, want %+v", evs, want)
	}
	if st, _ := d.Status("h5"); st.SuccessRate != 100 {
		t.Errorf("h5 external success rate %v, want 100: local failures must not count", st.SuccessRate)
	}
}
