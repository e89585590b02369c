package measure

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/meshbench/meshbench/bench/fleet"
)

// The request every phase sends: the fleet's risk call, as payments makes
// it.
const (
	reqPath = "/v1/risk"
	reqBody = `{"amount": 1299, "currency": "EUR", "cardToken": "tok_calibrate", "merchant": "m_calibrate"}`
)

// client sends one request to addr and waits for its whole answer.
type client interface {
	do(addr string) error
	close()
}

// rawClient is a minimal keep-alive HTTP/1.1 client: the request's bytes
// are built once, written on a kept connection, and the answer read with
// net/http's response reader. It is the baseline that the load generator's
// own cost (the client phase, generator.go) is measured against.
type rawClient struct {
	req  []byte
	conn net.Conn
	br   *bufio.Reader
	addr string
}

func newRawClient() *rawClient { return newRawClientFor(reqPath) }

// newRawClientFor posts the payment to path, without an Idempotency-Key
// (payments then gives each request a key of its own).
func newRawClientFor(path string) *rawClient {
	var b bytes.Buffer
	b.WriteString("POST " + path + " HTTP/1.1\r\nHost: calibrate\r\nContent-Type: application/json\r\n")
	b.WriteString("Content-Length: " + strconv.Itoa(len(reqBody)) + "\r\n\r\n" + reqBody)
	return &rawClient{req: b.Bytes()}
}

// newRawGet sends GET path, without a body: the hit phase's request,
// which the hit proxy's cache answers from its second on.
func newRawGet(path string) *rawClient {
	return &rawClient{req: []byte("GET " + path + " HTTP/1.1\r\nHost: calibrate\r\n\r\n")}
}

func (c *rawClient) do(addr string) error {
	if c.conn == nil || c.addr != addr {
		c.close()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		c.conn, c.br, c.addr = conn, bufio.NewReader(conn), addr
	}
	if _, err := c.conn.Write(c.req); err != nil {
		c.close()
		return err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	if err == nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		err = statusErr(resp.StatusCode)
	}
	return err
}

func (c *rawClient) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// grpcClient makes the risk call over gRPC with the fleet's gRPC client
// (fleet.GRPCTransport: one HTTP/2 connection, the call a stream on it), as
// the load generator and the fleet's callers do for services whose
// protocol is grpc.
type grpcClient struct{ t *fleet.GRPCTransport }

func newGRPCClient() *grpcClient { return &grpcClient{t: fleet.NewGRPCTransport()} }

func (c *grpcClient) do(addr string) error { return postRisk(c.t.RoundTrip, addr) }

// postRisk makes the risk call to addr with send and reads the whole
// answer; an answer other than 2xx is an error (isStatus).
func postRisk(send func(*http.Request) (*http.Response, error), addr string) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+addr+reqPath, strings.NewReader(reqBody))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := send(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		err = statusErr(resp.StatusCode)
	}
	return err
}

func (c *grpcClient) close() { _ = c.t.Close() }

// rawAnswer is rawServer's fixed answer.
var rawAnswer = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"score\":0.1}")

var (
	rawMu    sync.Mutex
	rawConns = map[net.Conn]bool{}
)

// serveRaw is the smallest HTTP/1.1 server that answers rawClient: it
// reads a head and a Content-Length body and writes a fixed answer. The
// load side's own CPU is estimated from rawClient against it (see
// estimate in phases.go).
func serveRaw(ln net.Listener) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		rawMu.Lock()
		rawConns[conn] = true
		rawMu.Unlock()
		go func() {
			defer func() {
				rawMu.Lock()
				delete(rawConns, conn)
				rawMu.Unlock()
				conn.Close()
			}()
			br := bufio.NewReader(conn)
			for {
				n := 0
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(line) <= 2 {
						break
					}
					if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("Content-Length")) {
						n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
					}
				}
				if _, err := br.Discard(n); err != nil {
					return
				}
				if _, err := conn.Write(rawAnswer); err != nil {
					return
				}
			}
		}()
	}
}

func closeRaw() {
	rawMu.Lock()
	defer rawMu.Unlock()
	for c := range rawConns {
		_ = c.Close()
	}
}

// newHist keeps latencies in units of 100 ns, from 100 ns to 1 s.
func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 10_000_000, 3) }

// record adds a latency in nanoseconds clamped to the histogram's range
// (values are kept in ns/100: 0.1 µs resolution up to 1 s).
func record(h *hdrhistogram.Histogram, d time.Duration) {
	v := int64(d / 100)
	_ = h.RecordValue(min(max(v, 1), h.HighestTrackableValue()))
}

// quantile reads a histogram kept by record.
func quantile(h *hdrhistogram.Histogram, p float64) time.Duration {
	return time.Duration(h.ValueAtQuantile(p*100)) * 100
}

func mean(h *hdrhistogram.Histogram) time.Duration { return time.Duration(h.Mean() * 100) }
