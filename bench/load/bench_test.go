package load

import (
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/scenarios"
)

func BenchmarkPoissonPace(b *testing.B) {
	p, err := NewConstantPoissonPacer(5000, time.Hour, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Pace(0, uint64(i))
	}
}

func BenchmarkPaymentTarget(b *testing.B) {
	q, err := newRequests(scenarios.Workload{Name: "checkout", Target: scenarios.Request{Method: "POST", Path: "/v1/payments", KeySpace: 1000, IdempotencyKeys: true}}, 0, "http://127.0.0.1:9", 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	var t vegeta.Target
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		k := q.openKey(i)
		q.target(&t, "checkout-1", k, q.openClient(k))
	}
}
