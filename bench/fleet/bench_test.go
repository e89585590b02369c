package fleet_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/meshbench/meshbench/bench/fleet"
)

// BenchmarkPayment measures one approved payment through the whole fleet
// on loopback (payments → risk ∥ fraud → ledger, no simulated service
// time): the fleet's own overhead, to set beside the service times that
// scenarios configure. call=risk is one direct call to risk, the baseline
// for the ratio; ledger=nosync leaves the disk out, ledger=fsync does not.
func BenchmarkPayment(b *testing.B) {
	cases := []struct {
		name  string
		path  string
		sync  bool
		check int
	}{
		{"call=risk", "/v1/risk", false, http.StatusOK},
		{"flow=payment/ledger=nosync", "/v1/payments", false, http.StatusCreated},
		{"flow=payment/ledger=fsync", "/v1/payments", true, http.StatusCreated},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			f := startFleet(b, fleetOptions{ledger: func(c *fleet.Config) { c.LedgerNoSync = !bc.sync }})
			base := f.paymentsURL
			if bc.path == "/v1/risk" {
				base = f.riskURL
			}
			c := newClient(b)
			body := jsonBody(b, payment(100, "tok_ok"))
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, base+bc.path, bytes.NewReader(body))
					req.Header.Set(fleet.HeaderIdempotencyKey, fmt.Sprintf("bench-%d", n.Add(1)))
					resp, err := c.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					_ = resp.Body.Close()
					if resp.StatusCode != bc.check {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		})
	}
}
