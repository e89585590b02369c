package load

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/fleet"
)

// recorder turns the results of every workload into the run's outputs,
// one result at a time: the sink's Result, the results file's vegeta
// record, and the acknowledged payments.
type recorder struct {
	ctx    context.Context // the run's: results cut short by its end are dropped
	epoch  time.Time
	attack string
	sink   bench.Sink
	raw    bench.RawEncoder

	created createdPayments // payments acknowledged, for lookups

	mu       sync.Mutex
	acks     []fleet.Ack
	recorded int64
	rawErr   error
}

// keptHeaders are the answer's headers written to the results file: enough
// to see who answered and why, without every answer's full header set; a
// gRPC call's status code is kept in Grpc-Status.
var keptHeaders = []string{fleet.HeaderInstance, HeaderReason, fleet.HeaderIdempotencyKey, HeaderRequestID, fleet.HeaderGRPCStatus}

// resultMeta is what the recorder knows of a request beside its vegeta
// result: whether it was a payment, whose 2xx answer the audit must find
// in the ledger, the workload and route it is filed under, and for an
// open-loop request its schedule lag.
type resultMeta struct {
	payment   bool
	workload  string
	route     string
	scheduled bool
	lag       time.Duration
}

// record takes one result.
func (rc *recorder) record(res *vegeta.Result, m resultMeta) {
	payment := m.payment
	if res.Code == 0 && rc.ctx.Err() != nil && strings.Contains(res.Error, context.Canceled.Error()) {
		// Cut short by the end of the run (Ctrl-C), not an outcome of the
		// system under test.
		return
	}
	r := Convert(res, rc.epoch)
	r.Workload, r.Route = m.workload, m.route
	r.Scheduled, r.Lag = m.scheduled, m.lag
	var ack fleet.Ack
	acked := false
	if payment && res.Code >= 200 && res.Code <= 299 {
		ack = fleet.Ack{Key: res.Headers.Get(fleet.HeaderIdempotencyKey), ClientPaymentID: res.Headers.Get(headerClientID)}
		acked = true
		rc.created.add(res.Headers.Get("Location"))
	}
	res.Attack = rc.attack
	res.Body = nil
	if res.Headers != nil {
		kept := make(http.Header, len(keptHeaders))
		for _, k := range keptHeaders {
			if v := res.Headers[k]; len(v) > 0 {
				kept[k] = v
			}
		}
		res.Headers = kept
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.sink.Record(r)
	rc.recorded++
	if acked {
		rc.acks = append(rc.acks, ack)
	}
	if rc.raw != nil && rc.rawErr == nil {
		rc.rawErr = rc.raw.Encode(res)
	}
}
