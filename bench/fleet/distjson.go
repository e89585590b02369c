package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// ParseDistribution reads a distribution as flags, environment variables
// and /admin/fault spell it: a bare duration ("5ms", a constant), or the
// scenario format's mapping written as JSON, with durations as strings or
// as integer nanoseconds:
//
//	{"type":"lognormal","median":"20ms","p99":"120ms"}
//
// Unknown keys are errors, and the distribution must build.
func ParseDistribution(s string) (scenarios.DistributionSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return scenarios.DistributionSpec{}, errors.New("empty distribution")
	}
	if s[0] != '{' && s[0] != '"' {
		d, err := time.ParseDuration(s)
		if err != nil {
			return scenarios.DistributionSpec{}, fmt.Errorf("distribution %q: want a duration such as \"5ms\" or a JSON object", s)
		}
		s = strconv.Quote(d.String())
	}
	return decodeDistribution([]byte(s))
}

// decodeDistribution reads the JSON form: a duration string or an object.
func decodeDistribution(b []byte) (scenarios.DistributionSpec, error) {
	var w distWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return scenarios.DistributionSpec{}, fmt.Errorf("distribution: %w", err)
	}
	if dec.More() {
		return scenarios.DistributionSpec{}, errors.New("distribution: trailing data after the JSON value")
	}
	spec := w.spec()
	if _, err := spec.Build(); err != nil {
		return scenarios.DistributionSpec{}, fmt.Errorf("distribution: %w", err)
	}
	return spec, nil
}

// FormatDistribution is the inverse of ParseDistribution: a constant as a
// bare duration, anything else as JSON with durations as strings.
func FormatDistribution(spec scenarios.DistributionSpec) string {
	if spec.Type == scenarios.DistConstant {
		return spec.Value.String()
	}
	b, err := wireOf(spec).MarshalJSON()
	if err != nil { // distWire holds only numbers and strings
		panic("fleet: marshal distribution: " + err.Error())
	}
	return string(b)
}

// distWire mirrors scenarios.DistributionSpec with durations that read and
// write as strings ("5ms"); scenarios.DistributionSpec's own JSON would
// use nanoseconds. A JSON string alone is the shorthand constant.
type distWire struct {
	Type      string       `json:"type"`
	Value     wireDuration `json:"value,omitempty"`
	Mean      wireDuration `json:"mean,omitempty"`
	Min       wireDuration `json:"min,omitempty"`
	Max       wireDuration `json:"max,omitempty"`
	Stddev    wireDuration `json:"stddev,omitempty"`
	Median    wireDuration `json:"median,omitempty"`
	P99       wireDuration `json:"p99,omitempty"`
	Mu        *float64     `json:"mu,omitempty"`
	Sigma     *float64     `json:"sigma,omitempty"`
	Scale     wireDuration `json:"scale,omitempty"`
	Shape     float64      `json:"shape,omitempty"`
	Quantiles []wirePoint  `json:"quantiles,omitempty"`
}

type wirePoint struct {
	Q     float64      `json:"q"`
	Value wireDuration `json:"value"`
}

// MarshalJSON writes a constant as its bare duration, the shorthand.
func (w distWire) MarshalJSON() ([]byte, error) {
	if w.Type == scenarios.DistConstant {
		return w.Value.MarshalJSON()
	}
	type plain distWire // without this method
	return json.Marshal(plain(w))
}

func (w *distWire) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var d wireDuration
		if err := d.UnmarshalJSON(b); err != nil {
			return err
		}
		*w = distWire{Type: scenarios.DistConstant, Value: d}
		return nil
	}
	type plain distWire // without this method
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*w = distWire(p)
	return nil
}

func (w distWire) spec() scenarios.DistributionSpec {
	s := scenarios.DistributionSpec{
		Type: w.Type, Value: time.Duration(w.Value), Mean: time.Duration(w.Mean),
		Min: time.Duration(w.Min), Max: time.Duration(w.Max), Stddev: time.Duration(w.Stddev),
		Median: time.Duration(w.Median), P99: time.Duration(w.P99), Mu: w.Mu, Sigma: w.Sigma,
		Scale: time.Duration(w.Scale), Shape: w.Shape,
	}
	for _, p := range w.Quantiles {
		s.Quantiles = append(s.Quantiles, scenarios.QuantilePoint{Q: p.Q, Value: time.Duration(p.Value)})
	}
	return s
}

func wireOf(s scenarios.DistributionSpec) distWire {
	w := distWire{
		Type: s.Type, Value: wireDuration(s.Value), Mean: wireDuration(s.Mean),
		Min: wireDuration(s.Min), Max: wireDuration(s.Max), Stddev: wireDuration(s.Stddev),
		Median: wireDuration(s.Median), P99: wireDuration(s.P99), Mu: s.Mu, Sigma: s.Sigma,
		Scale: wireDuration(s.Scale), Shape: s.Shape,
	}
	for _, p := range s.Quantiles {
		w.Quantiles = append(w.Quantiles, wirePoint{Q: p.Q, Value: wireDuration(p.Value)})
	}
	return w
}

// wireDuration is a time.Duration written as "5ms" and read from "5ms" or
// from integer nanoseconds.
type wireDuration time.Duration

func (d wireDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *wireDuration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = wireDuration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration %s: want a string such as \"5ms\" or integer nanoseconds", b)
	}
	*d = wireDuration(n)
	return nil
}
