package proxy

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsCacheForgetEndpoint: the cached series handles count into the
// vectors' series, and an endpoint that left and came back starts its
// series afresh instead of counting into a deleted (unexported) one.
func TestMetricsCacheForgetEndpoint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, func() []*cluster { return nil })
	// series returns the value of the series of family name whose labels
	// are the given values (in the labels' sorted order), -1 when absent, and how many series
	// the family has.
	series := func(name string, values ...string) (float64, int) {
		t.Helper()
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() != name {
				continue
			}
			v := -1.0
		next:
			for _, s := range f.GetMetric() {
				for i, l := range s.GetLabel() {
					if i >= len(values) || l.GetValue() != values[i] {
						continue next
					}
				}
				switch {
				case s.Counter != nil:
					v = s.GetCounter().GetValue()
				case s.Histogram != nil:
					v = float64(s.GetHistogram().GetSampleCount())
				}
			}
			return v, len(f.GetMetric())
		}
		return -1, 0
	}
	for range 3 {
		m.upstream("c", "e1", "200", time.Millisecond)
		m.request("r", "c", 200, time.Millisecond)
	}
	m.upstream("c", "e2", "200", time.Millisecond)
	if got, _ := series("meshbench_proxy_upstream_requests_total", "c", "200", "e1"); got != 3 {
		t.Fatalf("upstream requests of e1 = %v, want 3", got)
	}
	if got, _ := series("meshbench_proxy_requests_total", "c", "200", "r"); got != 3 {
		t.Fatalf("requests = %v, want 3", got)
	}
	m.forgetEndpoint("c", "e1")
	if _, n := series("meshbench_proxy_upstream_requests_total"); n != 1 {
		t.Fatalf("%d upstream request series after e1 left, want 1 (e2's)", n)
	}
	m.upstream("c", "e1", "200", time.Millisecond)
	if got, _ := series("meshbench_proxy_upstream_requests_total", "c", "200", "e1"); got != 1 {
		t.Fatalf("upstream requests of e1 after it came back = %v, want 1", got)
	}
	if _, got := series("meshbench_proxy_upstream_duration_seconds"); got != 2 {
		t.Fatalf("%d upstream duration series, want 2", got)
	}
	if got, _ := series("meshbench_proxy_upstream_requests_total", "c", "200", "e2"); got != 1 {
		t.Fatalf("upstream requests of e2 = %v, want 1 (untouched by e1 leaving)", got)
	}
}
