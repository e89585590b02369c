package sim

import (
	"math"
	"testing"
	"time"
)

// TestArrivalShapes counts arrivals per second against the integral of the
// shape's rate, for both arrival processes.
func TestArrivalShapes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape rateShape
		want  func(sec int) float64 // arrivals in second [sec, sec+1) of a 10s window
	}{
		{"constant", rateShape{kind: shapeConstant, rate: 500}, func(int) float64 { return 500 }},
		{"ramp", rateShape{kind: shapeRamp, from: 100, to: 1100}, func(s int) float64 { return 100 + 100*(float64(s)+0.5) }},
		{"step", rateShape{kind: shapeStep, steps: []rateStep{{2 * time.Second, 300}, {5 * time.Second, 0}, {7 * time.Second, 900}}},
			func(s int) float64 { return []float64{0, 0, 300, 300, 300, 0, 0, 900, 900, 900}[s] }},
		{"sine", rateShape{kind: shapeSine, mean: 500, amplitude: 400, period: 10 * time.Second},
			func(s int) float64 {
				// ∫ over [s, s+1) of 500 + 400 sin(2πt/10)
				c := 400 * 10 / (2 * math.Pi)
				return 500 + c*(math.Cos(2*math.Pi*float64(s)/10)-math.Cos(2*math.Pi*float64(s+1)/10))
			}},
	} {
		for _, poisson := range []bool{false, true} {
			name := tc.name + "/constant-arrivals"
			if poisson {
				name = tc.name + "/poisson"
			}
			t.Run(name, func(t *testing.T) {
				s := fleetSpec(4, 64, time.Millisecond, 0, 10*time.Second, "round_robin")
				s.loads[0].poisson = poisson
				s.loads[0].shape = tc.shape
				counts := make([]float64, 10)
				for _, r := range runSpec(t, s) {
					counts[int(r.Start/time.Second)]++
				}
				for sec, got := range counts {
					want := tc.want(sec)
					// Constant spacing is exact up to one arrival per step;
					// Poisson counts have standard deviation √want.
					tol := 2.0
					if poisson {
						tol = 4*math.Sqrt(want) + 1
					}
					if math.Abs(got-want) > tol {
						t.Errorf("second %d: %.0f arrivals, want %.1f ± %.1f", sec, got, want, tol)
					}
				}
			})
		}
	}
}

func TestLoadWindow(t *testing.T) {
	s := fleetSpec(1, 8, time.Millisecond, 100, 10*time.Second, "round_robin")
	s.loads[0].start = 2 * time.Second
	s.loads[0].end = 5 * time.Second
	rs := runSpec(t, s)
	for _, r := range rs {
		if r.Start < 2*time.Second || r.Start >= 5*time.Second {
			t.Fatalf("request at %v outside [2s, 5s)", r.Start)
		}
	}
	if n := len(rs); n < 240 || n > 360 {
		t.Errorf("%d requests in a 3s window at 100/s", n)
	}
}

// TestClosedLoop checks the interactive response time law: N users who
// think Z between answers, each taking R, send N/(Z+R) requests per second.
func TestClosedLoop(t *testing.T) {
	const users, think, service, hop = 10, 90 * time.Millisecond, 10 * time.Millisecond, 250 * time.Microsecond
	s := fleetSpec(1, users, service, 0, 20*time.Second, "round_robin")
	s.services[0].serviceTime = constDist(service)
	s.network.latency = constDist(hop)
	s.loads[0].users = users
	s.loads[0].think = constDist(think)
	rs := runSpec(t, s)
	r := service + 4*hop
	want := float64(users) / (think + r).Seconds() * 20
	t.Logf("%d requests, law says %.1f", len(rs), want)
	if !within(float64(len(rs)), want, 0.01) {
		t.Errorf("%d requests, want %.0f", len(rs), want)
	}
	for _, res := range rs {
		if res.Latency != r {
			t.Fatalf("latency %v, want %v with no queueing", res.Latency, r)
		}
	}
}
