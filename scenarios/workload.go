package scenarios

import (
	"math"
	"time"
)

// Arrival processes of an open-loop workload.
const (
	ArrivalConstant = "constant" // evenly spaced, as vegeta's constant pacer
	ArrivalPoisson  = "poisson"  // exponential gaps with the same mean rate
)

// Shape types: how an open-loop workload's rate changes over its window.
const (
	ShapeConstant = "constant"
	ShapeRamp     = "ramp"
	ShapeStep     = "step"
	ShapeSine     = "sine"
)

// shapeParams lists, per shape type, the parameter keys that apply to it.
var shapeParams = map[string][]string{
	ShapeConstant: {"rate"},
	ShapeRamp:     {"from", "to"},
	ShapeStep:     {"steps"},
	ShapeSine:     {"mean", "amplitude", "period"},
}

// Workload is one stream of requests offered at the gateway during
// [start, start+for). It is open loop (a rate or a shape: requests arrive
// whether or not earlier ones finished, as real traffic does) or closed loop
// (users: each sends, waits for the answer, thinks, and sends again).
// After Load an open-loop workload always has Shape set (a bare rate becomes
// a constant shape) and For is explicit.
type Workload struct {
	// Name identifies the workload in reports (default "load-N", N counting from 1).
	Name string `json:"name" jsonschema:"pattern=^[a-z0-9_-]+$"`
	// Target is the request sent.
	Target Request `json:"target" jsonschema:"required"`
	// Arrival is constant (evenly spaced) or poisson (default poisson); open loop only, empty for users.
	Arrival string `json:"arrival,omitempty" noun:"arrival process" jsonschema:"enum=constant,enum=poisson"`
	// Rate is a constant rate such as "500/s" (N/s, N/m, N/h). Exclusive with shape and users.
	Rate Rate `json:"rate,omitempty"`
	// Shape is a rate that changes over the window. Exclusive with rate and users.
	Shape *Shape `json:"shape,omitempty"`
	// Users is a closed-loop population. Exclusive with rate and shape.
	Users *Users `json:"users,omitempty"`
	// Start is when the workload begins (default 0).
	Start time.Duration `json:"start"`
	// For is how long it lasts (default: to the end of the scenario).
	For time.Duration `json:"for"`
	// Protocol is how requests are sent: http (HTTP/1.1) or grpc (the request's gRPC call over cleartext HTTP/2, which the service it is routed to must speak); default http.
	Protocol string `json:"protocol" noun:"protocol" jsonschema:"enum=http,enum=grpc"`
	// Consumers are the callers behind an open-loop workload, each with an identity of its own (default: one anonymous client, 127.0.0.1 on the real backends).
	Consumers *Consumers `json:"consumers,omitempty"`
}

// Request is the request a workload sends.
type Request struct {
	// Method is the HTTP method (default GET).
	Method string `json:"method" noun:"HTTP method" jsonschema:"enum=GET,enum=HEAD,enum=POST,enum=PUT,enum=PATCH,enum=DELETE,enum=OPTIONS"`
	// Path is the request path, starting with "/"; "{payment}" in it stands for the id of a payment the run created (a status lookup).
	Path string `json:"path" jsonschema:"required,pattern=^/"`
	// Host is the Host header (default: none set).
	Host string `json:"host,omitempty"`
	// Headers are sent with every request.
	Headers map[string]string `json:"headers,omitempty"`
	// Body is sent with every request.
	Body string `json:"body,omitempty"`
	// KeySpace is the number of distinct hash keys (e.g. users) drawn uniformly; 0 means a fresh random key per request (default 0).
	KeySpace int `json:"keySpace,omitempty" jsonschema:"minimum=0"`
	// IdempotencyKeys says whether each payment (a POST to /v1/payments) carries an Idempotency-Key of its own, which the gateway's retries repeat (default true); false sends none, so a retry is a new payment. The simulator has no ledger and ignores it.
	IdempotencyKeys bool `json:"idempotencyKeys"`
}

// PaymentPlaceholder in a workload's path stands for the id of a payment
// the run has created, for status lookups such as GET /v1/payments/{payment}:
// the real backends send each such request with the id of a payment their
// clients saw acknowledged earlier in the run, drawn uniformly among them.
// The simulator, which keeps no payments, routes the path as written, so
// the path must match a route both as written and with an id in place.
const PaymentPlaceholder = "{payment}"

// examplePaymentID has the form of the fleet's payment ids ("pay_" and 26
// base32 characters), for checking that a path with PaymentPlaceholder
// still matches its route once the id is in place.
const examplePaymentID = "pay_ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// Shape is an open-loop rate that changes over the workload's window.
// Times (step at, sine period) are relative to the workload's start.
type Shape struct {
	// Type is constant, ramp, step or sine.
	Type string `json:"type" noun:"shape" jsonschema:"required,enum=constant,enum=ramp,enum=step,enum=sine"`
	// Rate is the constant rate (constant).
	Rate Rate `json:"rate,omitempty"`
	// From is the rate at the window's start (ramp).
	From Rate `json:"from,omitempty"`
	// To is the rate at the window's end (ramp).
	To Rate `json:"to,omitempty"`
	// Steps set the rate from their time on; before the first step the rate is 0 (step).
	Steps []Step `json:"steps,omitempty"`
	// Mean is the average rate (sine).
	Mean Rate `json:"mean,omitempty"`
	// Amplitude is the swing around the mean, at most the mean (sine).
	Amplitude Rate `json:"amplitude,omitempty"`
	// Period is the length of one cycle (sine).
	Period time.Duration `json:"period,omitempty"`
}

// Step sets a step shape's rate from At (relative to the workload's start) on.
type Step struct {
	// At is when the step starts, relative to the workload's start.
	At time.Duration `json:"at"`
	// Rate is the rate from then on.
	Rate Rate `json:"rate" jsonschema:"required"`
}

// Users is a closed-loop population.
type Users struct {
	// Count is the number of concurrent users (at least 1).
	Count int `json:"count" jsonschema:"required,minimum=1"`
	// ThinkTime is the pause between an answer and the user's next request (default constant 0).
	ThinkTime DistributionSpec `json:"thinkTime"`
}

// MarshalJSON writes the shape's type and exactly its parameters, so that a
// ramp from 0/s keeps its "from".
func (s Shape) MarshalJSON() ([]byte, error) {
	return marshalKeys(s, append([]string{"type"}, shapeParams[s.Type]...))
}

// RateAt is the workload's offered rate, in requests per second, at time t
// of the scenario's timeline: 0 outside [Start, Start+For) and for closed-loop
// workloads. Ramp interpolates linearly over the window; sine is
// mean + amplitude·sin(2π·elapsed/period). It is a pure function of t, in the
// spirit of vegeta's Pacer, so that every backend paces the same way.
func (w Workload) RateAt(t time.Duration) float64 {
	if w.Shape == nil || t < w.Start || t >= w.Start+w.For {
		return 0
	}
	return w.Shape.rateAt(t-w.Start, w.For)
}

// rateAt is the shape's rate at elapsed into a window of length window.
func (s *Shape) rateAt(elapsed, window time.Duration) float64 {
	switch s.Type {
	case ShapeConstant:
		return float64(s.Rate)
	case ShapeRamp:
		if window <= 0 {
			return float64(s.From)
		}
		f := float64(elapsed) / float64(window)
		return float64(s.From) + (float64(s.To)-float64(s.From))*f
	case ShapeStep:
		r := 0.0
		for _, st := range s.Steps {
			if st.At > elapsed {
				break
			}
			r = float64(st.Rate)
		}
		return r
	case ShapeSine:
		if s.Period <= 0 {
			return float64(s.Mean)
		}
		phase := 2 * math.Pi * float64(elapsed) / float64(s.Period)
		return max(0, float64(s.Mean)+float64(s.Amplitude)*math.Sin(phase))
	}
	return 0
}
