package breaker

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// op is one scripted call on a Breaker.
type op int

const (
	allow op = iota // Allow; check its answer
	ok              // Record(success)
	fail            // Record(failure)
	state           // State only
)

func (o op) String() string { return [...]string{"allow", "ok", "fail", "state"}[o] }

// step is one row of a script: at time t0+at, do op; afterwards the breaker must be
// in want, and an allow step must have answered allowed.
type step struct {
	at      time.Duration
	op      op
	want    State
	allowed bool
}

// repeat returns n copies of s.
func repeat(n int, s step) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func script(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func one(at time.Duration, o op, want State, allowed ...bool) []step {
	s := step{at: at, op: o, want: want}
	if len(allowed) > 0 {
		s.allowed = allowed[0]
	}
	return []step{s}
}

func TestBreakerScripts(t *testing.T) {
	ratio := Config{FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second, Buckets: 10, SleepWindow: 5 * time.Second}
	consecutive := Config{ConsecutiveFailures: 3, SleepWindow: 5 * time.Second}
	threeProbes := Config{ConsecutiveFailures: 1, SleepWindow: time.Second, HalfOpenProbes: 3}
	// trip opens ratio at t=0 with four failures.
	trip := repeat(4, step{at: 0, op: fail, want: Closed})
	trip[3].want = Open

	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"closed allows", ratio, script(
			one(0, allow, Closed, true),
			one(0, ok, Closed),
			one(ms(1), allow, Closed, true),
		)},
		{"ratio needs the minimum volume", ratio, script(
			one(0, fail, Closed),
			one(0, fail, Closed),
			one(0, fail, Closed),
			one(0, ok, Open), // 3 of 4 failed, volume reached
			one(0, allow, Open, false),
		)},
		{"ratio below the threshold stays closed", ratio, script(
			repeat(4, step{at: ms(1), op: ok, want: Closed}),
			repeat(3, step{at: ms(2), op: fail, want: Closed}), // 3/7
			one(ms(3), allow, Closed, true),
			one(ms(3), fail, Open), // 4/8 reaches 0.5
		)},
		{"ratio trip is inclusive of the threshold", Config{FailureRatio: 0.25, MinRequests: 4}, script(
			repeat(3, step{at: 0, op: ok, want: Closed}),
			one(0, fail, Open),
		)},
		{"window drops buckets older than the window", ratio, script(
			repeat(3, step{at: 0, op: fail, want: Closed}), // bucket 0
			one(ms(10_000), fail, Closed),                  // bucket 10: bucket 0 has left
			one(ms(10_500), fail, Closed),
			one(ms(11_000), fail, Closed),
			one(ms(11_999), fail, Open), // four failures in buckets 10 and 11
		)},
		{"window still holds the oldest bucket one tick earlier", ratio, script(
			repeat(3, step{at: 0, op: fail, want: Closed}),
			one(ms(9_999), fail, Open), // bucket 9: bucket 0 still counts
		)},
		{"consecutive failures trip without volume", consecutive, script(
			repeat(10, step{at: 0, op: ok, want: Closed}),
			one(0, fail, Closed),
			one(0, fail, Closed),
			one(0, ok, Closed), // run broken
			one(0, fail, Closed),
			one(0, fail, Closed),
			one(ms(1), fail, Open),
			one(ms(2), allow, Open, false),
		)},
		{"sleep window then one probe closes", ratio, script(
			trip,
			one(ms(4_999), allow, Open, false),
			one(ms(4_999), state, Open),
			one(ms(5_000), state, HalfOpen),
			one(ms(5_000), allow, HalfOpen, true),
			one(ms(5_001), allow, HalfOpen, false), // only one probe
			one(ms(5_002), ok, Closed),
			one(ms(5_003), allow, Closed, true),
		)},
		{"allow itself moves open to half-open", ratio, script(
			trip,
			one(ms(6_000), allow, HalfOpen, true),
		)},
		{"probe failure reopens for a full sleep window", ratio, script(
			trip,
			one(ms(5_000), allow, HalfOpen, true),
			one(ms(5_100), fail, Open),
			one(ms(10_099), allow, Open, false),
			one(ms(10_100), allow, HalfOpen, true),
			one(ms(10_100), ok, Closed),
		)},
		{"all probes must succeed", threeProbes, script(
			one(0, fail, Open),
			one(ms(1_000), allow, HalfOpen, true),
			one(ms(1_000), allow, HalfOpen, true),
			one(ms(1_000), allow, HalfOpen, true),
			one(ms(1_000), allow, HalfOpen, false),
			one(ms(1_001), ok, HalfOpen),
			one(ms(1_002), ok, HalfOpen),
			one(ms(1_003), allow, HalfOpen, false),
			one(ms(1_004), ok, Closed),
		)},
		{"a failure after probe successes reopens", threeProbes, script(
			one(0, fail, Open),
			one(ms(1_000), allow, HalfOpen, true),
			one(ms(1_000), allow, HalfOpen, true),
			one(ms(1_001), ok, HalfOpen),
			one(ms(1_002), fail, Open),
			one(ms(1_003), allow, Open, false),
		)},
		{"outcomes while open are ignored", ratio, script(
			trip,
			one(ms(1), ok, Open),
			one(ms(2), fail, Open),
			one(ms(5_000), state, HalfOpen),
		)},
		{"outcome with no probe outstanding is ignored", ratio, script(
			trip,
			one(ms(5_000), state, HalfOpen),
			one(ms(5_001), ok, HalfOpen), // late outcome, not a probe
			one(ms(5_002), fail, HalfOpen),
			one(ms(5_003), allow, HalfOpen, true),
			one(ms(5_004), ok, Closed),
		)},
		{"lost probe: a new probe after another sleep window", ratio, script(
			trip,
			one(ms(5_000), allow, HalfOpen, true), // never reports
			one(ms(9_999), allow, HalfOpen, false),
			one(ms(10_000), allow, HalfOpen, true),
			one(ms(10_001), ok, Closed),
		)},
		{"a slow probe still counts when no replacement was asked for", ratio, script(
			trip,
			one(ms(5_000), allow, HalfOpen, true),
			one(ms(12_000), state, HalfOpen),
			one(ms(12_000), ok, Closed),
		)},
		{"lost probe is replaced, earlier successes kept", threeProbes, script(
			one(0, fail, Open),
			repeat(3, step{at: ms(1_000), op: allow, want: HalfOpen, allowed: true}),
			one(ms(1_100), ok, HalfOpen),
			one(ms(1_200), ok, HalfOpen),
			one(ms(1_999), allow, HalfOpen, false),
			one(ms(2_000), allow, HalfOpen, true), // replaces the lost third probe
			one(ms(2_000), allow, HalfOpen, false),
			one(ms(2_100), ok, Closed),
		)},
		{"closing starts the window afresh", ratio, script(
			trip,
			one(ms(5_000), allow, HalfOpen, true),
			one(ms(5_000), ok, Closed),
			repeat(3, step{at: ms(5_001), op: fail, want: Closed}), // old failures forgotten
			one(ms(5_002), fail, Open),
		)},
		{"time going backwards is clamped", ratio, script(
			trip,
			one(ms(5_000), state, HalfOpen),
			one(ms(1_000), state, HalfOpen), // earlier time: still half-open
			one(ms(1_000), allow, HalfOpen, true),
		)},
		{"zero config is Hystrix's 50% of 20 in 10s", Config{}, script(
			repeat(19, step{at: ms(100), op: fail, want: Closed}),
			one(ms(200), fail, Open),
			one(ms(5_199), allow, Open, false),
			one(ms(5_200), allow, HalfOpen, true),
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				switch s.op {
				case allow:
					if got := b.Allow(now); got != s.allowed {
						t.Fatalf("step %d (%v at %v): Allow = %v, want %v", i, s.op, s.at, got, s.allowed)
					}
				case ok, fail:
					b.Record(now, s.op == ok)
				}
				if got := b.State(now); got != s.want {
					t.Fatalf("step %d (%v at %v): state %v, want %v", i, s.op, s.at, got, s.want)
				}
			}
		})
	}
}

func TestRecordReturnsTransition(t *testing.T) {
	b, err := New(Config{ConsecutiveFailures: 2, SleepWindow: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		at      time.Duration
		allow   bool
		success bool
		want    Transition
	}{
		{"first failure changes nothing", 0, false, false, Transition{Closed, Closed}},
		{"second failure trips", 0, false, false, Transition{Closed, Open}},
		{"probe success closes", time.Second, true, true, Transition{HalfOpen, Closed}},
	}
	for _, tt := range tests {
		now := t0.Add(tt.at)
		if tt.allow && !b.Allow(now) {
			t.Fatalf("%s: probe not admitted", tt.name)
		}
		got := b.Record(now, tt.success)
		if got != tt.want || got.Changed() != (tt.want.From != tt.want.To) {
			t.Errorf("%s: Record = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	st := b.Stats()
	want := Stats{Opened: 1, HalfOpened: 1, Closed: 1, Successes: 1, Failures: 2}
	if st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"zero", Config{}, false},
		{"ratio only", Config{FailureRatio: 0.3, MinRequests: 10}, false},
		{"consecutive only", Config{ConsecutiveFailures: 5}, false},
		{"ratio above one", Config{FailureRatio: 1.5}, true},
		{"negative ratio", Config{FailureRatio: -0.1}, true},
		{"negative min requests", Config{MinRequests: -1}, true},
		{"negative consecutive", Config{ConsecutiveFailures: -1}, true},
		{"negative window", Config{Window: -time.Second}, true},
		{"negative buckets", Config{Buckets: -1}, true},
		{"too many buckets", Config{Buckets: maxBuckets + 1}, true},
		{"buckets finer than a nanosecond", Config{Window: 5, Buckets: 10}, true},
		{"negative sleep", Config{SleepWindow: -1}, true},
		{"negative probes", Config{HalfOpenProbes: -1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			_, nerr := New(tt.cfg)
			if (nerr != nil) != tt.wantErr {
				t.Errorf("New error = %v, want error %v", nerr, tt.wantErr)
			}
		})
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Closed: "closed", Open: "open", HalfOpen: "half_open", State(9): "State(9)"} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(s), got, want)
		}
	}
}

func ExampleBreaker() {
	b, _ := New(Config{ConsecutiveFailures: 2, SleepWindow: time.Second})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 2 {
		if b.Allow(now) {
			b.Record(now, false)
		}
	}
	fmt.Println(b.State(now), b.Allow(now))
	now = now.Add(time.Second)
	fmt.Println(b.Allow(now), b.Record(now, true))
	// Output:
	// open false
	// true half_open->closed
}
