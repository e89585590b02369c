package lifecycle

import (
	"strconv"
	"strings"
	"time"

	"github.com/meshbench/meshbench/proxy/breaker"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventSent: try Try went to Endpoint (Retry, Hedge say why).
	EventSent EventKind = iota + 1
	// EventRefused: a request, a retry or a hedge was refused for Reason
	// (a limiter, the breaker, a threshold, no endpoint, the retry budget).
	EventRefused
	// EventAnswered: try Try's answer head came with Status (and GRPC).
	EventAnswered
	// EventFailed: try Try ended without an answer (Failure).
	EventFailed
	// EventCancelled: the request stopped waiting for try Try.
	EventCancelled
	// EventForwarded: the client gets try Try's answer (Status).
	EventForwarded
	// EventResponded: the client gets the proxy's own Status and Reason.
	EventResponded
	// EventEjected and EventReturned: outlier detection took Endpoint out
	// of rotation (Reason: the detector) or put it back.
	EventEjected
	EventReturned
	// EventBreaker: the cluster's breaker changed state (Breaker).
	EventBreaker
	// EventCommitted: the request's streamed body outgrew the replay
	// buffer while try Try sent it; it is neither retried nor hedged
	// from now on (Request.Committed).
	EventCommitted
)

var eventNames = [...]string{
	EventSent: "sent", EventRefused: "refused", EventAnswered: "answered", EventFailed: "failed",
	EventCancelled: "cancelled", EventForwarded: "forwarded", EventResponded: "responded",
	EventEjected: "ejected", EventReturned: "returned", EventBreaker: "breaker", EventCommitted: "committed",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one decision or observation of the lifecycle. Requests report
// theirs to Route.Observe, clusters theirs to Cluster.Observe.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Route    string
	Cluster  string
	Try      int
	Endpoint string
	Retry    bool
	Hedge    bool
	Status   int
	// GRPC is the grpc-status of the answer's head (AnsweredGRPC); 0 for
	// OK or none.
	GRPC    int
	Reason  string
	Failure Failure
	Breaker breaker.Transition
}

// String writes the event without its time, as conformance tests compare
// them: "sent try=2 ep=payments[1] retry".
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Try > 0 {
		b.WriteString(" try=")
		b.WriteString(strconv.Itoa(e.Try))
	}
	if e.Endpoint != "" {
		b.WriteString(" ep=")
		b.WriteString(e.Endpoint)
	}
	if e.Retry {
		b.WriteString(" retry")
	}
	if e.Hedge {
		b.WriteString(" hedge")
	}
	if e.Status != 0 {
		b.WriteString(" status=")
		b.WriteString(strconv.Itoa(e.Status))
	}
	if e.GRPC != 0 {
		b.WriteString(" grpc=")
		b.WriteString(strconv.Itoa(e.GRPC))
	}
	if e.Failure != NoFailure {
		b.WriteString(" failure=")
		b.WriteString(e.Failure.String())
	}
	if e.Reason != "" {
		b.WriteString(" reason=")
		b.WriteString(e.Reason)
	}
	if e.Kind == EventBreaker {
		b.WriteString(" ")
		b.WriteString(e.Breaker.String())
	}
	return b.String()
}
