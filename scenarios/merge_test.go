package scenarios

import (
	"reflect"
	"testing"
	"time"
)

const mergeScenario = minimal + `
policy:
  balancer: {type: least_request, choices: 3}
  timeouts: {request: 2s}
  retries: {attempts: 3, retryOn: [5xx, reset], budget: {ratio: 0.3}}
  outlierDetection: {consecutive5xx: 7, interval: 3s}
variants:
  - name: inherit
  - name: override
    policy:
      balancer: {type: peak_ewma}
      retries: {retryOn: [gateway-error], budget: {minPerSecond: 0}}
      outlierDetection: {consecutive5xx: 0}
      circuitBreaker: {failureRatio: 0.25}
  - name: remove
    policy: {retries: null, outlierDetection: ~}
  - name: anchored
    policy: &fast
      timeouts: {request: 500ms}
      balancer: {type: random}
  - name: aliased
    policy: *fast
  - name: merged
    policy:
      <<: *fast
      balancer: {type: maglev}
`

func TestMerge(t *testing.T) {
	p := mustLoad(t, mergeScenario)
	v := map[string]Policy{}
	for _, x := range p.Variants {
		v[x.Name] = x.Policy
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"a variant without policy is the base", v["inherit"], p.Policy},
		{"a key set in the variant wins", v["override"].Balancer.Type, "peak_ewma"},
		{"siblings are inherited", v["override"].Balancer.Choices, 3},
		{"other blocks are inherited", v["override"].Timeouts.Request, 2 * time.Second},
		{"nested keys are inherited", v["override"].Retries.Attempts, 3},
		{"lists are replaced", v["override"].Retries.RetryOn, []string{"gateway-error"}},
		{"merge recurses", v["override"].Retries.Budget.Ratio, Fraction(0.3)},
		{"an explicit zero wins", v["override"].Retries.Budget.MinPerSecond, 0},
		{"an explicit zero wins over the base", v["override"].OutlierDetection.Consecutive5xx, 0},
		{"the base's sibling stays", v["override"].OutlierDetection.Interval, 3 * time.Second},
		{"a new block starts from defaults", v["override"].CircuitBreaker.MinRequests, 20},
		{"a new block takes the variant's keys", v["override"].CircuitBreaker.FailureRatio, Fraction(0.25)},
		{"null removes a block", v["remove"].Retries, (*Retries)(nil)},
		{"~ removes a block", v["remove"].OutlierDetection, (*OutlierDetection)(nil)},
		{"removal leaves the rest", v["remove"].Balancer.Type, "least_request"},
		{"an anchored policy merges", v["anchored"].Balancer.Choices, 3},
		{"an alias merges the same", v["aliased"], v["anchored"]},
		{"a merge key's keys apply", v["merged"].Timeouts.Request, 500 * time.Millisecond},
		{"keys beside a merge key win", v["merged"].Balancer.Type, "maglev"},
		{"the base is untouched", p.Policy.Balancer.Type, "least_request"},
		{"the base's lists are untouched", p.Policy.Retries.RetryOn, []string{"5xx", "reset"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

// TestMergeSharesNothing checks that variants do not alias the base
// policy or each other: changing one leaves the others alone.
func TestMergeSharesNothing(t *testing.T) {
	p := mustLoad(t, mergeScenario)
	p.Variants[0].Policy.Retries.RetryOn[0] = "changed"
	p.Variants[0].Policy.Retries.Budget.Ratio = 0.9
	if p.Policy.Retries.RetryOn[0] != "5xx" || p.Policy.Retries.Budget.Ratio != 0.3 {
		t.Error("a variant shares memory with the base policy")
	}
	if p.Variants[2].Policy.Retries != nil || p.Variants[1].Policy.Retries.Budget.Ratio != 0.3 {
		t.Error("variants share memory with each other")
	}
}
