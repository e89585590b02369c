package proxy

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGRPCCodeFor(t *testing.T) {
	for _, tc := range []struct {
		status int
		reason string
		code   int
	}{
		{404, ReasonNoRoute, grpcUnimplemented},
		{429, ReasonRateLimited, grpcResourceExhausted},
		{429, ReasonConsumerLimited, grpcResourceExhausted},
		{413, ReasonBodyTooLarge, grpcResourceExhausted},
		{503, ReasonConcurrencyLimited, grpcUnavailable},
		{503, ReasonCircuitOpen, grpcUnavailable},
		{503, ReasonOverflow, grpcUnavailable},
		{503, ReasonNoHealthyUpstream, grpcUnavailable},
		{503, ReasonConnectFailure, grpcUnavailable},
		{504, ReasonConnectTimeout, grpcUnavailable},
		{502, ReasonUpstreamReset, grpcUnavailable},
		{503, reasonShuttingDown, grpcUnavailable},
		{504, ReasonUpstreamTimeout, grpcDeadlineExceeded},
		{504, ReasonRequestTimeout, grpcDeadlineExceeded},
		{400, ReasonBadRequest, grpcInternal},
		{500, ReasonInternal, grpcInternal},
		// Unknown reasons (middlewares) follow gRPC's HTTP mapping.
		{400, "x", grpcInternal},
		{401, "unauthenticated", grpcUnauthenticated},
		{403, "forbidden", grpcPermissionDenied},
		{403, "peer_denied", grpcPermissionDenied},
		{404, "", grpcUnimplemented},
		{429, "", grpcUnavailable},
		{502, "", grpcUnavailable},
		{503, "fault_injected", grpcUnavailable},
		{504, "", grpcUnavailable},
		{418, "", grpcUnknown},
		{500, "", grpcUnknown},
	} {
		if got := grpcCodeFor(tc.status, tc.reason); got != tc.code {
			t.Errorf("grpcCodeFor(%d, %q) = %d, want %d", tc.status, tc.reason, got, tc.code)
		}
	}
}

func TestGRPCAnswerHeader(t *testing.T) {
	h := http.Header{"Content-Type": textPlain, "Content-Length": {"7"}, "X-Content-Type-Options": nosniff, HeaderReason: {"circuit_open"}, "Retry-After": {"1"}}
	grpcAnswer(h, 503)
	want := http.Header{"Content-Type": {"application/grpc"}, "Grpc-Status": {"14"}, "Grpc-Message": {"meshbench: circuit_open"},
		HeaderReason: {"circuit_open"}, "Retry-After": {"1"}}
	if len(h) != len(want) {
		t.Fatalf("header %v, want %v", h, want)
	}
	for k, v := range want {
		if h.Get(k) != v[0] {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v[0])
		}
	}
	h = http.Header{}
	grpcAnswer(h, 401)
	if h.Get("Grpc-Status") != "16" || h.Get("Grpc-Message") != "meshbench: unauthorized" {
		t.Errorf("without a reason: %v", h)
	}
}

func TestPercentEncode(t *testing.T) {
	for in, want := range map[string]string{
		"plain text: ok": "plain text: ok",
		"100%":           "100%25",
		"line\nbreak":    "line%0Abreak",
		"café":           "caf%C3%A9",
		"":               "",
	} {
		if got := percentEncode(in); got != want {
			t.Errorf("percentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseGRPCTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
		err  bool
	}{
		{"", 0, false, false},
		{"1H", time.Hour, true, false},
		{"2M", 2 * time.Minute, true, false},
		{"3S", 3 * time.Second, true, false},
		{"150m", 150 * time.Millisecond, true, false},
		{"99999999u", 99999999 * time.Microsecond, true, false},
		{"5n", 5, true, false},
		{"0m", 0, true, false},
		{"99999999H", 24 * time.Hour, true, false},
		{"123456789m", 0, true, true}, // nine digits
		{"10", 0, true, true},
		{"m", 0, true, true},
		{"-1m", 0, true, true},
		{"+1m", 0, true, true},
		{"1.5S", 0, true, true},
		{"10s", 0, true, true},
	} {
		h := http.Header{}
		if tc.in != "" {
			h.Set("Grpc-Timeout", tc.in)
		}
		d, ok, err := parseGRPCTimeout(h)
		if d != tc.want || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("parseGRPCTimeout(%q) = %v, %v, %v; want %v, %v, error %v", tc.in, d, ok, err, tc.want, tc.ok, tc.err)
		}
	}
}

func TestGRPCTimeoutValue(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "1n",
		-time.Second:            "1n",
		150 * time.Millisecond:  "150000u", // 150000000n has nine digits
		99999999:                "99999999n",
		time.Second:             "1000000u",
		100 * time.Hour:         "360000S",
		1 << 62:                 "76861433M",
		3*time.Second + 1234567: "3001234u",
	} {
		if got := grpcTimeoutValue(d); got != want {
			t.Errorf("grpcTimeoutValue(%v) = %q, want %q", d, got, want)
		}
	}
}

// FuzzGRPCTimeout: what grpcTimeoutValue writes, parseGRPCTimeout reads
// back as at most the duration written (rounded down to the unit), and a
// value it accepts is never negative.
func FuzzGRPCTimeout(f *testing.F) {
	for _, s := range []string{"1H", "150m", "99999999n", "0S", "x", "12345678901m"} {
		f.Add(s, int64(150*time.Millisecond))
	}
	f.Fuzz(func(t *testing.T, s string, n int64) {
		h := http.Header{"Grpc-Timeout": {s}}
		if d, ok, err := parseGRPCTimeout(h); !ok || (err == nil && d < 0) || (err != nil && d != 0) {
			t.Fatalf("parseGRPCTimeout(%q) = %v, %v, %v", s, d, ok, err)
		}
		if n <= 0 || n > int64(24*time.Hour) {
			return
		}
		v := grpcTimeoutValue(time.Duration(n))
		h["Grpc-Timeout"] = []string{v}
		d, _, err := parseGRPCTimeout(h)
		if err != nil || d > time.Duration(n) || len(v) > 9 || strings.ContainsAny(v, "-.") {
			t.Fatalf("grpcTimeoutValue(%d) = %q, read back %v, %v", n, v, d, err)
		}
	})
}
