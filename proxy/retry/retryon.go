package retry

import (
	"fmt"
	"slices"
	"strings"
)

// The retry_on condition names, spelled as in Envoy's x-envoy-retry-on header
// and route retry_policy.retry_on.
const (
	// On5xx retries any 5xx response and any attempt that got no response
	// at all (timeout, reset, connect failure).
	On5xx = "5xx"
	// OnGatewayError retries 502, 503 and 504 and, as Envoy's router does,
	// attempts that got no response at all.
	OnGatewayError = "gateway-error"
	// OnReset retries attempts that got no response at all: reset,
	// disconnect, per-try timeout, and connect failure.
	OnReset = "reset"
	// OnConnectFailure retries only attempts whose connection could not be
	// made.
	OnConnectFailure = "connect-failure"
	// OnRetriable4xx retries 409 Conflict, the only 4xx Envoy deems
	// retriable.
	OnRetriable4xx = "retriable-4xx"
	// OnRetriableStatusCodes retries the statuses listed in
	// Policy.RetriableStatusCodes.
	OnRetriableStatusCodes = "retriable-status-codes"
)

// The gRPC retry_on conditions, as Envoy's x-envoy-retry-grpc-on: each
// retries an answer whose grpc-status is that code. Envoy judges them, and
// so does this package, on the grpc-status of the answer's headers (a
// trailers-only answer, the way a gRPC server reports an error before any
// message); a status that arrives in trailers after a body has started
// cannot be retried, since part of the answer has gone to the client.
const (
	OnCancelled         = "cancelled"          // CANCELLED (1)
	OnDeadlineExceeded  = "deadline-exceeded"  // DEADLINE_EXCEEDED (4)
	OnInternal          = "internal"           // INTERNAL (13)
	OnResourceExhausted = "resource-exhausted" // RESOURCE_EXHAUSTED (8)
	OnUnavailable       = "unavailable"        // UNAVAILABLE (14)
)

// The gRPC status codes the gRPC conditions name (google.golang.org/grpc/codes).
const (
	GRPCCancelled         = 1
	GRPCDeadlineExceeded  = 4
	GRPCResourceExhausted = 8
	GRPCInternal          = 13
	GRPCUnavailable       = 14
)

var conditionNames = []string{
	On5xx, OnGatewayError, OnReset, OnConnectFailure, OnRetriable4xx, OnRetriableStatusCodes,
	OnCancelled, OnDeadlineExceeded, OnInternal, OnResourceExhausted, OnUnavailable,
}

// Names returns the retry_on condition names this package understands, in a
// fixed order: the HTTP ones, then the gRPC ones. Envoy's other conditions (refused-stream, retriable-headers,
// envoy-ratelimited, reset-before-request, http3-post-connect-failure) are
// not modelled.
func Names() []string { return slices.Clone(conditionNames) }

// ParseRetryOn splits a comma-separated retry_on value, as carried by the
// x-envoy-retry-on header ("5xx, reset"), into condition names. Blank items
// are skipped; an unknown name is an error that lists the valid ones.
func ParseRetryOn(s string) ([]string, error) {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		name := strings.TrimSpace(item)
		if name == "" {
			continue
		}
		if err := checkCondition(name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, nil
}

func checkCondition(name string) error {
	if slices.Contains(conditionNames, name) {
		return nil
	}
	return fmt.Errorf("unknown retry_on condition %q (valid: %s)", name, strings.Join(conditionNames, ", "))
}

// matches reports whether the single condition name covers o. Unknown names
// match nothing; Policy.Validate is where they are rejected.
func matches(name string, o Outcome, codes []int) bool {
	switch name {
	case On5xx:
		return o.Err.noResponse() || (o.Err == None && o.Status >= 500 && o.Status <= 599)
	case OnGatewayError:
		return o.Err.noResponse() || (o.Err == None && (o.Status == 502 || o.Status == 503 || o.Status == 504))
	case OnReset:
		return o.Err.noResponse()
	case OnConnectFailure:
		return o.Err == ConnectFailure
	case OnRetriable4xx:
		return o.Err == None && o.Status == 409
	case OnRetriableStatusCodes:
		return o.Err == None && slices.Contains(codes, o.Status)
	case OnCancelled:
		return o.Err == None && o.GRPCStatus == GRPCCancelled
	case OnDeadlineExceeded:
		return o.Err == None && o.GRPCStatus == GRPCDeadlineExceeded
	case OnInternal:
		return o.Err == None && o.GRPCStatus == GRPCInternal
	case OnResourceExhausted:
		return o.Err == None && o.GRPCStatus == GRPCResourceExhausted
	case OnUnavailable:
		return o.Err == None && o.GRPCStatus == GRPCUnavailable
	}
	return false
}
