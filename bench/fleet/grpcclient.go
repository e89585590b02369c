package fleet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// HeaderGRPCStatus is set by GRPCTransport on every answer it makes up:
// the gRPC status code of the call, in decimal, so that whoever reads the
// answer in HTTP terms still sees the code.
const HeaderGRPCStatus = "Grpc-Status"

// GRPCTransport is an http.RoundTripper that carries requests of the
// fleet's HTTP API over its gRPC API (package paymentspb): a request is
// sent as the call of its operation (GRPCMethod) to req.URL.Host over
// cleartext HTTP/2, its headers as metadata, and the call's outcome comes
// back as the answer the HTTP API gives for it: a payment created is 201
// (200 when idempotent-replayed), declined 402, an error status the HTTP
// status of its code (HTTPStatus) with the error body, the answer
// metadata as headers and Grpc-Status set. A call that got no answer (the
// connection failed, the deadline passed before any) is an error, as it
// is for an HTTP transport; a DeadlineExceeded or Canceled one wraps
// context.DeadlineExceeded or context.Canceled.
//
// One connection per address (and :authority) carries every call to it
// as streams, as gRPC clients do. The zero value is not usable: call
// NewGRPCTransport; Close ends its connections.
type GRPCTransport struct {
	opts []grpc.DialOption
	// Conns is how many connections carry the calls to one address, each
	// call on the next in turn; set it before the first call. 0 or 1: one,
	// as a single gRPC client has. A load generator standing for many
	// clients spreads its calls over several, so that one connection's
	// stream limit (the server's MAX_CONCURRENT_STREAMS) does not queue
	// its calls on the client side.
	Conns int

	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn // by host:port, authority and index
	next   map[string]int
	closed bool
}

// NewGRPCTransport returns a transport that dials with opts beside
// insecure (cleartext) credentials.
func NewGRPCTransport(opts ...grpc.DialOption) *GRPCTransport {
	return &GRPCTransport{
		opts:  append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...),
		conns: map[string]*grpc.ClientConn{},
		next:  map[string]int{},
	}
}

func (t *GRPCTransport) conn(addr, authority string) (*grpc.ClientConn, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("grpc transport: closed")
	}
	key := addr + "\x00" + authority
	if t.Conns > 1 {
		i := t.next[key]
		t.next[key] = (i + 1) % t.Conns
		key += "\x00" + strconv.Itoa(i)
	}
	if c, ok := t.conns[key]; ok {
		return c, nil
	}
	opts := t.opts
	if authority != "" {
		opts = append(opts[:len(opts):len(opts)], grpc.WithAuthority(authority))
	}
	c, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("grpc transport: %w", err)
	}
	t.conns[key] = c
	return c, nil
}

// Close closes every connection; later round trips fail.
func (t *GRPCTransport) Close() error {
	t.mu.Lock()
	conns := t.conns
	t.conns, t.closed = nil, true
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	return nil
}

// CloseIdleConnections closes every connection, as http.Transport's does
// for idle ones; the next call dials again.
func (t *GRPCTransport) CloseIdleConnections() {
	t.mu.Lock()
	conns := t.conns
	t.conns = map[string]*grpc.ClientConn{}
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// requestMetadata are the headers not carried as metadata: HTTP's own,
// which gRPC sets itself.
var skipHeaders = map[string]bool{
	"content-type": true, "content-length": true, "host": true, "connection": true,
	"te": true, "user-agent": true, "accept-encoding": true, "transfer-encoding": true,
	"keep-alive": true, "upgrade": true, "proxy-connection": true,
}

// RoundTrip makes the gRPC call of req; see GRPCTransport.
func (t *GRPCTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("grpc transport: read body: %w", err)
		}
		body = b
	}
	op, id, ok := grpcOpFor(req.Method, req.URL.Path)
	if !ok {
		return nil, fmt.Errorf("grpc transport: %s %s is no operation of the payments gRPC API", req.Method, req.URL.Path)
	}
	in, err := op.req(body, id)
	if err != nil {
		return nil, fmt.Errorf("grpc transport: %s %s: %w", req.Method, req.URL.Path, err)
	}
	authority := ""
	if req.Host != "" && req.Host != req.URL.Host {
		authority = req.Host
	}
	cc, err := t.conn(req.URL.Host, authority)
	if err != nil {
		return nil, err
	}
	md := metadata.MD{}
	for k, vs := range req.Header {
		lk := strings.ToLower(k)
		if skipHeaders[lk] || strings.HasPrefix(lk, "grpc-") {
			continue
		}
		md[lk] = vs
	}
	ctx := metadata.NewOutgoingContext(req.Context(), md)
	var header, trailer metadata.MD
	out := op.resp()
	err = cc.Invoke(ctx, op.full, in, out, grpc.Header(&header), grpc.Trailer(&trailer))
	st := status.Convert(err)
	if err != nil && req.Context().Err() != nil {
		// The caller's own deadline or cancellation, whatever came back
		// after it: as an HTTP client, no answer.
		return nil, fmt.Errorf("grpc transport: %w", req.Context().Err())
	}
	answered := len(header) > 0 || len(trailer) > 0
	httpStatus := 0
	if err != nil && !answered {
		httpStatus = plainHTTPStatus(st.Message())
	}
	if err != nil && !answered && httpStatus == 0 {
		switch st.Code() {
		case codes.DeadlineExceeded:
			return nil, fmt.Errorf("grpc transport: %w: %s", context.DeadlineExceeded, st.Message())
		case codes.Canceled:
			return nil, fmt.Errorf("grpc transport: %w: %s", context.Canceled, st.Message())
		case codes.Unavailable, codes.Internal, codes.Unknown:
			// No metadata at all: the connection failed or broke, or a
			// server that is not the fleet's answered without any.
			return nil, fmt.Errorf("grpc transport: %s", st.Message())
		}
	}
	resp := &http.Response{
		Proto: "HTTP/2.0", ProtoMajor: 2,
		Header:  http.Header{},
		Request: req,
	}
	for _, m := range []metadata.MD{header, trailer} {
		for k, vs := range m {
			if strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") || k == "content-type" {
				continue
			}
			resp.Header[http.CanonicalHeaderKey(k)] = vs
		}
	}
	resp.Header.Set(HeaderGRPCStatus, strconv.Itoa(int(st.Code())))
	resp.Header.Set("Content-Type", "application/json")
	var answer any
	if err == nil {
		resp.StatusCode, answer = op.answer(out, resp.Header.Get(HeaderIdempotentReplayed) == "true")
	} else {
		resp.StatusCode = HTTPStatus(st.Code())
		if httpStatus != 0 {
			resp.StatusCode = httpStatus
		}
		answer = errorBody{Error: st.Message()}
	}
	b := append(mustJSON(answer), '\n')
	resp.Status = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return resp, nil
}

// plainHTTPStatus is the status of an answer that was not gRPC, which
// grpc-go reports as "unexpected HTTP status code received from server:
// 503 (Service Unavailable)" (a proxy answering in plain HTTP): 0 when msg
// is not such a report. The answer's headers are lost; its status is not.
func plainHTTPStatus(msg string) int {
	const marker = "unexpected HTTP status code received from server: "
	_, rest, ok := strings.Cut(msg, marker)
	if !ok || len(rest) < 3 {
		return 0
	}
	n, err := strconv.Atoi(rest[:3])
	if err != nil || n < 100 || n > 599 {
		return 0
	}
	return n
}
