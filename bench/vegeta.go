package bench

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// VirtualEpoch is the wall-clock instant that a virtual timeline's zero
// stands for in a results file: the simulator's records are stamped
// VirtualEpoch + Result.Start, so the same scenario and seed write the
// same file on any machine, and `vegeta report` reads durations and rates
// from it as from a real attack.
var VirtualEpoch = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// The headers of a results file's records that carry what a Result knows
// beyond status and latency. They are the ones the real backends keep from
// the answers they receive (bench/load), so one decoder reads both.
const (
	HeaderInstance = "X-Meshbench-Instance"
	HeaderReason   = "X-Meshbench-Reason"
	HeaderRetries  = "X-Meshbench-Load-Retries"
	HeaderHedges   = "X-Meshbench-Load-Hedges"
)

// RawRecorder is implemented by backends that write their own record of
// each request to Job.Raw (the real backends: vegeta's record of what
// their client received). For any other backend (the simulator), a run
// with RunOptions.Results writes VegetaResult of each of its Results.
type RawRecorder interface {
	RecordsRaw() bool
}

func recordsRaw(b Backend) bool {
	r, ok := b.(RawRecorder)
	return ok && r.RecordsRaw()
}

// VegetaResult is r as vegeta's attacker would have recorded it, for a
// results file: Timestamp is epoch + Start, Code the status, Error what
// vegeta writes for it (the status line of an answer outside 2xx–3xx, or a
// transport error's text that names the kind), and the headers name the
// instance that answered, the reason of an outcome its status does not
// tell (circuit_open for a 503 of a breaker, ...) and the gateway's
// retries and hedges. attack and seq fill Attack and Seq.
func VegetaResult(r Result, epoch time.Time, attack string, seq uint64) *vegeta.Result {
	v := &vegeta.Result{
		Attack:    attack,
		Seq:       seq,
		Code:      uint16(r.Status),
		Timestamp: epoch.Add(r.Start),
		Latency:   r.Latency,
	}
	h := http.Header{}
	if r.Instance != "" {
		h.Set(HeaderInstance, r.Instance)
	}
	if r.Retries > 0 {
		h.Set(HeaderRetries, strconv.Itoa(int(r.Retries)))
	}
	if r.Hedges > 0 {
		h.Set(HeaderHedges, strconv.Itoa(int(r.Hedges)))
	}
	switch {
	case r.Status == 0:
		if r.Kind != KindOK {
			v.Error = transportError(r.Kind)
		}
	default:
		if r.Status < 200 || r.Status >= 400 {
			v.Error = fmt.Sprintf("%d %s", r.Status, http.StatusText(r.Status))
		}
		if KindOf(r.Status, "") != r.Kind {
			if reason := kindReason[r.Kind]; reason != "" {
				h.Set(HeaderReason, reason)
			}
		}
	}
	if len(h) > 0 {
		v.Headers = h
	}
	return v
}

// kindReason is the reason header that files an answer under a kind its
// status alone does not give (bench.KindOf inverted).
var kindReason = map[Kind]string{
	KindBreakerOpen: lifecycle.CircuitOpen,
	KindNoEndpoint:  lifecycle.NoHealthyUpstream,
	KindQueueFull:   "queue_full",
	KindReset:       lifecycle.UpstreamReset,
	KindRefused:     lifecycle.ConnectFailure,
	KindTimeout:     lifecycle.UpstreamTimeout,
	KindStatus429:   lifecycle.RateLimited,
}

// transportError is the error text of a request that got no answer, worded
// as Go's HTTP client words the same failure, so that a reader classifying
// vegeta's errors (load.KindOf) files it under the same kind.
func transportError(k Kind) string {
	switch k {
	case KindTimeout:
		return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
	case KindRefused:
		return "connect: connection refused"
	case KindReset:
		return "read: connection reset by peer"
	default:
		return "request failed: " + k.String()
	}
}

// spool keeps one job's vegeta records in a temporary file while the job
// runs, so that jobs running in parallel each write their own; Run copies
// the spools into the results file in job order at the end, so every run
// of the same scenario and seed writes the same records in the same order
// (byte for byte but for the order of a record's headers, which gob
// writes in Go's map order).
type spool struct {
	sink   Sink
	attack string
	f      *os.File
	enc    *gob.Encoder
	seq    uint64
	err    error
}

func newSpool(dir, attack string, sink Sink) (*spool, error) {
	f, err := os.CreateTemp(dir, ".results-*.spool")
	if err != nil {
		return nil, fmt.Errorf("results file: %w", err)
	}
	return &spool{sink: sink, attack: attack, f: f, enc: gob.NewEncoder(f)}, nil
}

// Record passes r on to the job's sink and spools its vegeta record.
func (s *spool) Record(r Result) {
	s.sink.Record(r)
	if s.err != nil {
		return
	}
	if err := s.enc.Encode(VegetaResult(r, VirtualEpoch, s.attack, s.seq)); err != nil {
		s.err = fmt.Errorf("results file: spool: %w", err)
	}
	s.seq++
}

// copyTo appends the spooled records to raw and removes the spool.
func (s *spool) copyTo(raw RawEncoder) error {
	defer os.Remove(s.f.Name())
	defer s.f.Close()
	if s.err != nil {
		return s.err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("results file: spool: %w", err)
	}
	dec := gob.NewDecoder(s.f)
	for {
		var v vegeta.Result
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("results file: spool: %w", err)
		}
		if err := raw.Encode(&v); err != nil {
			return err
		}
	}
}

// discard removes the spool unread.
func (s *spool) discard() {
	s.f.Close()
	os.Remove(s.f.Name())
}
