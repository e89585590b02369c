package proxy

import (
	"encoding/hex"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Header names the proxy reads or writes.
const (
	// HeaderRequestID carries the request's id; one is created when the
	// request has none (or an unusable one) and it is propagated upstream
	// and echoed downstream, as Envoy's x-request-id.
	HeaderRequestID = "X-Request-Id"
	// HeaderDeadline carries the caller's remaining time budget in whole
	// milliseconds. The proxy shortens its own timeout to it and sends the
	// time left on every upstream try, so that fan-out calls made by the
	// upstream do not outlive the caller (gRPC's grpc-timeout idea).
	HeaderDeadline = "X-Meshbench-Deadline-Ms"
	// HeaderReason says why the proxy itself answered with an error
	// (rate_limited, circuit_open, upstream_timeout, ...), as Envoy's
	// x-envoy-overloaded and response flags do.
	HeaderReason = "X-Meshbench-Reason"
)

// viaValue is what the proxy appends to Via (RFC 9110 §7.6.3): the received
// protocol version and a pseudonym.
func viaValue(major, minor int) string {
	switch {
	case major == 2:
		return "2 meshbench"
	case major == 1 && minor == 0:
		return "1.0 meshbench"
	default:
		return "1.1 meshbench"
	}
}

// appendHeader appends v to the field's last value with ", ", so the field
// stays a single line as proxies conventionally write X-Forwarded-For and
// Via.
func appendHeader(h http.Header, key, v string) {
	if prior, ok := h[key]; ok && len(prior) > 0 {
		v = prior[len(prior)-1] + ", " + v
		prior[len(prior)-1] = v
		return
	}
	h[key] = []string{v}
}

// setForwarded adds the forwarding fields to an outbound request's header:
// the client address appended to X-Forwarded-For, X-Forwarded-Proto and
// X-Forwarded-Host set when absent (the first proxy knows them), and Via.
func setForwarded(h http.Header, in *http.Request, clientIP string) {
	if clientIP != "" {
		appendHeader(h, "X-Forwarded-For", clientIP)
	}
	if _, ok := h["X-Forwarded-Proto"]; !ok {
		if in.TLS != nil {
			h["X-Forwarded-Proto"] = protoHTTPS
		} else {
			h["X-Forwarded-Proto"] = protoHTTP
		}
	}
	if _, ok := h["X-Forwarded-Host"]; !ok && in.Host != "" {
		h["X-Forwarded-Host"] = []string{in.Host}
	}
	appendHeader(h, "Via", viaValue(in.ProtoMajor, in.ProtoMinor))
}

var (
	protoHTTP  = []string{"http"}
	protoHTTPS = []string{"https"}
)

// clientIP returns the host part of a RemoteAddr without allocating.
func clientIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// validRequestID accepts ids of 1 to 128 visible ASCII characters; anything
// else is replaced so a client cannot inject control bytes into logs.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// newRequestID returns a random version 4 UUID, as Envoy generates.
func newRequestID(r *rand.Rand) string {
	var b [16]byte
	u1, u2 := r.Uint64(), r.Uint64()
	for i := range 8 {
		b[i] = byte(u1 >> (8 * i))
		b[8+i] = byte(u2 >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// parseDeadline reads HeaderDeadline: ok is false when absent; err is set
// when present but not a non-negative integer.
func parseDeadline(h http.Header) (d time.Duration, ok bool, err error) {
	vs := h[HeaderDeadline]
	if len(vs) == 0 {
		return 0, false, nil
	}
	ms, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
		return 0, true, errBadDeadline
	}
	return time.Duration(ms) * time.Millisecond, true, nil
}

// deadlineValue formats the time left before deadline in whole milliseconds,
// rounded down, at least 1 so an upstream is never told it has already
// expired while the proxy still waits.
func deadlineValue(left time.Duration) string {
	ms := int64(left / time.Millisecond)
	if ms < 1 {
		ms = 1
	}
	return strconv.FormatInt(ms, 10)
}
