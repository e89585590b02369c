package retry

import "fmt"

// Kind is how an attempt failed without producing an HTTP response.
type Kind int

const (
	// None means the attempt produced a response; Outcome.Status says which.
	None Kind = iota
	// Timeout means the per-try timeout fired before a response arrived.
	Timeout
	// Reset means the connection or stream was reset, or closed, after it
	// was established and before a response arrived.
	Reset
	// ConnectFailure means no connection to the upstream could be made
	// (refused, connect timeout, no route).
	ConnectFailure
)

var kindNames = [...]string{None: "none", Timeout: "timeout", Reset: "reset", ConnectFailure: "connect-failure"}

// String returns the name of k as it appears in reports.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// noResponse reports whether k is one of the ways an upstream "does not
// respond at all" in Envoy's wording (disconnect, reset, read timeout,
// connect failure).
func (k Kind) noResponse() bool {
	return k == Timeout || k == Reset || k == ConnectFailure
}

// Outcome is what one attempt produced: either a response status (Err is
// None) or a transport failure (Err is not None, Status is ignored).
// GRPCStatus is the grpc-status of a gRPC answer's headers (a trailers-only
// answer); zero when it is OK or there is none, which no condition retries.
type Outcome struct {
	Status     int
	Err        Kind
	GRPCStatus int
}
