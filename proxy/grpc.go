package proxy

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// gRPC over the proxy (PROTOCOL-HTTP2 of grpc/grpc): a gRPC request is an
// HTTP/2 POST whose content-type starts with application/grpc. The proxy
// forwards it like any request — streams, flushes and trailers included —
// and differs in three places, as Envoy's router does for gRPC:
//
//   - its own answers (a refusal, a timeout, a failed try, a middleware's
//     401 or 403) are trailers-only gRPC answers: HTTP 200, content-type
//     application/grpc, grpc-status from grpcCodeFor and a percent-encoded
//     grpc-message naming the reason, in one HEADERS frame that ends the
//     stream;
//   - grpc-timeout bounds the request like X-Meshbench-Deadline-Ms (the
//     smaller of it and the route timeout, as Envoy's max_grpc_timeout),
//     and each try is sent the time it has left in grpc-timeout;
//   - the grpc-status of an answer's head (a trailers-only answer) and of
//     its trailers reach the lifecycle (AnsweredGRPC, EndedGRPC), for the
//     retry conditions and outlier detection.

// gRPC metadata fields, canonicalised as net/http keeps them.
const (
	headerGRPCStatus  = "Grpc-Status"
	headerGRPCMessage = "Grpc-Message"
	headerGRPCTimeout = "Grpc-Timeout"
)

// gRPC status codes (google.golang.org/grpc/codes) the proxy answers with.
const (
	grpcUnknown           = 2
	grpcDeadlineExceeded  = 4
	grpcPermissionDenied  = 7
	grpcResourceExhausted = 8
	grpcUnimplemented     = 12
	grpcInternal          = 13
	grpcUnavailable       = 14
	grpcUnauthenticated   = 16
)

var (
	grpcContentType  = []string{"application/grpc"}
	errBadGRPCTimout = errors.New("malformed " + headerGRPCTimeout)
)

// isGRPC reports whether r is a gRPC request: its content-type is
// application/grpc, or application/grpc+proto, application/grpc-web and
// the like.
func isGRPC(r *http.Request) bool {
	vs := r.Header["Content-Type"]
	return len(vs) > 0 && strings.HasPrefix(vs[0], "application/grpc")
}

// grpcCodeFor is the gRPC status of the proxy's own answer status, reason.
// The reasons the proxy knows get the code that says what happened; other
// answers follow gRPC's HTTP-to-gRPC mapping
// (doc/http-grpc-status-mapping.md, Envoy's httpToGrpcStatus). Where the
// two part, the reason wins: a rate limit is RESOURCE_EXHAUSTED (Envoy's
// rate_limited_as_resource_exhausted) rather than UNAVAILABLE, a timeout
// DEADLINE_EXCEEDED rather than UNAVAILABLE, so that a client's retry
// policy on UNAVAILABLE retries what another endpoint may serve and
// nothing else.
func grpcCodeFor(status int, reason string) int {
	switch reason {
	case ReasonNoRoute:
		return grpcUnimplemented
	case ReasonRateLimited, ReasonConsumerLimited, ReasonBodyTooLarge:
		return grpcResourceExhausted
	case ReasonConcurrencyLimited, ReasonCircuitOpen, ReasonOverflow, ReasonNoHealthyUpstream,
		ReasonConnectFailure, ReasonConnectTimeout, ReasonUpstreamReset, reasonShuttingDown:
		return grpcUnavailable
	case ReasonUpstreamTimeout, ReasonRequestTimeout:
		return grpcDeadlineExceeded
	case ReasonBadRequest, ReasonInternal:
		return grpcInternal
	}
	switch status {
	case 400:
		return grpcInternal
	case 401:
		return grpcUnauthenticated
	case 403:
		return grpcPermissionDenied
	case 404:
		return grpcUnimplemented
	case 429, 502, 503, 504:
		return grpcUnavailable
	}
	return grpcUnknown
}

// grpcAnswer turns the header of an answer the proxy writes by itself with
// status into a trailers-only gRPC answer's: grpc-status, grpc-message (the
// reason, or the status text) and content-type application/grpc, without
// a length.
func grpcAnswer(h http.Header, status int) {
	reason := ""
	if vs := h[HeaderReason]; len(vs) > 0 {
		reason = vs[0]
	}
	msg := reason
	if msg == "" {
		msg = strings.ToLower(http.StatusText(status))
	}
	h["Content-Type"] = grpcContentType
	h[headerGRPCStatus] = []string{strconv.Itoa(grpcCodeFor(status, reason))}
	h[headerGRPCMessage] = []string{percentEncode("meshbench: " + msg)}
	delete(h, "Content-Length")
	delete(h, "X-Content-Type-Options")
}

// percentEncode encodes a grpc-message value as gRPC requires: bytes
// outside printable ASCII, and '%', as %XX.
func percentEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '%' {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '%' {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// parseGRPCTimeout reads grpc-timeout: ok is false when absent; err is set
// when it is not 1-8 digits and a unit (H, M, S, m, u, n).
func parseGRPCTimeout(h http.Header) (d time.Duration, ok bool, err error) {
	vs := h[headerGRPCTimeout]
	if len(vs) == 0 {
		return 0, false, nil
	}
	v := vs[0]
	if len(v) < 2 || len(v) > 9 {
		return 0, true, errBadGRPCTimout
	}
	var n int64
	for _, c := range []byte(v[:len(v)-1]) {
		if c < '0' || c > '9' {
			return 0, true, errBadGRPCTimout
		}
		n = n*10 + int64(c-'0')
	}
	var unit time.Duration
	switch v[len(v)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, true, errBadGRPCTimout
	}
	const most = 24 * time.Hour // as X-Meshbench-Deadline-Ms: longer is no deadline worth keeping
	if n > int64(most/unit) {
		return most, true, nil
	}
	return time.Duration(n) * unit, true, nil
}

// grpcTimeoutValue formats d for grpc-timeout: at most 8 digits, in the
// finest unit that holds it, at least 1n.
func grpcTimeoutValue(d time.Duration) string {
	if d <= 0 {
		return "1n"
	}
	const maxDigits = 99_999_999
	units := [...]struct {
		d time.Duration
		c byte
	}{{time.Nanosecond, 'n'}, {time.Microsecond, 'u'}, {time.Millisecond, 'm'}, {time.Second, 'S'}, {time.Minute, 'M'}, {time.Hour, 'H'}}
	for _, u := range units {
		if v := d / u.d; v <= maxDigits {
			return strconv.FormatInt(int64(v), 10) + string(u.c)
		}
	}
	return "99999999H"
}

// grpcStatusOf reads the grpc-status of an answer's head or trailers: 0
// when there is none (or it is OK), UNKNOWN when it is not a number.
func grpcStatusOf(h http.Header) int {
	vs := h[headerGRPCStatus]
	if len(vs) == 0 {
		return 0
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil || n < 0 {
		return grpcUnknown
	}
	return n
}

// reasonShuttingDown answers requests that arrive while the proxy stops.
const reasonShuttingDown = "shutting_down"
