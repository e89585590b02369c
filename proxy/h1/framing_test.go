package h1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/meshbench/meshbench/internal/testnet"
)

// TestServerTransferCodingIsASCII: a transfer coding that is "chunked"
// only under Unicode case folding (the Kelvin sign folds to k) is not
// chunked, as net/http and nginx judge it: 501, never a body read as
// chunks.
func TestServerTransferCodingIsASCII(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), ServerConfig{})
	for _, te := range []string{"chun\u212Aed", "\u212Ahunked"} {
		raw := "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + "\r\n\r\n0\r\n\r\n"
		if got := testnet.RawExchange(t, addr, raw); got != http.StatusNotImplemented {
			t.Errorf("Transfer-Encoding %q: status %d, want 501", te, got)
		}
	}
}

func TestEqualFoldASCII(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"chunked", "CHUNKED", true},
		{"Keep-Alive", "keep-alive", true},
		{"chun\u212Aed", "chunked", false},
		{"trailer\u017F", "trailers", false},
		{"close", "clos", false},
		{"", "", true},
	} {
		if got := EqualFoldASCII(tc.a, tc.b); got != tc.want {
			t.Errorf("EqualFoldASCII(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestServerUnreadExpectBodyCloses: a handler that answers a request with
// Expect: 100-continue before reading its body, and only then reads it,
// gets an empty body (no 100 Continue goes out after the answer has begun)
// and the connection must end: what the client sends of the body anyway
// must never be read as its next request.
func TestServerUnreadExpectBodyCloses(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.WriteHeader(http.StatusForbidden)
		w.(http.Flusher).Flush()
		_, _ = io.ReadAll(r.Body)
	}), ServerConfig{})
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	c := dialRaw(t, addr)
	c.send("PUT /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " + strconv.Itoa(len(smuggled)) + "\r\n\r\n")
	if resp, _ := c.read("PUT"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	c.send(smuggled)
	if !c.closed() {
		t.Error("the connection stayed open with the body unread")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 {
		t.Errorf("requests served %q, want only /upload", paths)
	}
}

// TestServerNoContentLengthWhereForbidden: RFC 9110 section 8.6: no
// Content-Length in a 204 answer (nor a 1xx), whatever the handler set.
func TestServerNoContentLengthWhereForbidden(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", r.URL.Query().Get("cl"))
		w.WriteHeader(http.StatusNoContent)
	}), ServerConfig{})
	for _, cl := range []string{"0", "5"} {
		c := dialRaw(t, addr)
		c.send("GET /?cl=" + cl + " HTTP/1.1\r\nHost: x\r\n\r\n")
		head := readRawHead(t, c.br)
		if strings.Contains(strings.ToLower(head), "content-length") {
			t.Errorf("Content-Length %s: 204 answer carries it:\n%s", cl, head)
		}
		// The connection goes on: nothing of a body was sent.
		c.send("GET /?cl=0 HTTP/1.1\r\nHost: x\r\n\r\n")
		if head := readRawHead(t, c.br); !strings.HasPrefix(head, "HTTP/1.1 204 ") {
			t.Errorf("second answer on the connection: %q", head)
		}
	}
}

// readRawHead reads an answer's head as it came, to the empty line.
func readRawHead(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read head: %v (so far %q)", err, b.String())
		}
		b.WriteString(l)
		if l == "\r\n" {
			return b.String()
		}
	}
}

// TestReadResponseRefusesFaultyFraming: answers whose framing the client
// cannot trust are errors (the proxy answers 502 and closes the
// connection): a transfer coding that is chunked only under Unicode case
// folding, and Transfer-Encoding in an HTTP/1.0 answer (RFC 9112 section
// 6.1: faulty framing, never to be reused).
func TestReadResponseRefusesFaultyFraming(t *testing.T) {
	for _, raw := range []string{
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chun\u212Aed\r\n\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
	} {
		var buf []byte
		if _, err := readResponse(bufio.NewReader(strings.NewReader(raw)), &http.Request{Method: "GET"}, &buf); err == nil {
			t.Errorf("accepted %q", raw)
		}
	}
}

// TestTrailerFields: trailer fields that are malformed (a control
// character in the value, a bad name) fail the body; well-formed fields
// that RFC 9110 section 6.5.1 keeps out of trailers (framing, routing,
// authentication, request modifiers, response control, content handling)
// are dropped, in answers as in requests, and so are such names in a
// Trailer declaration.
func TestTrailerFields(t *testing.T) {
	good := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum, Content-Length, Host\r\n\r\n2\r\nhi\r\n0\r\n" +
		"X-Sum: 9\r\nContent-Length: 5\r\nHost: evil\r\nTransfer-Encoding: chunked\r\nAuthorization: x\r\nSet-Cookie: a=1\r\nGrpc-Status: 0\r\n\r\n"
	var buf []byte
	resp, err := readResponse(bufio.NewReader(strings.NewReader(good)), &http.Request{Method: "GET"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	for k := range resp.Trailer {
		if k != "X-Sum" {
			t.Errorf("declared trailer %q kept", k)
		}
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	if len(resp.Trailer) != 2 || resp.Trailer.Get("X-Sum") != "9" || resp.Trailer.Get("Grpc-Status") != "0" {
		t.Errorf("trailer %v, want X-Sum and Grpc-Status only", resp.Trailer)
	}

	for _, bad := range []string{"X-A: a\x00b", "X-A: a\rb", "X A: b", ": b", "X-A"} {
		raw := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n" + bad + "\r\n\r\n"
		resp, err := readResponse(bufio.NewReader(strings.NewReader(raw)), &http.Request{Method: "GET"}, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); err == nil {
			t.Errorf("trailer line %q accepted", bad)
		}
	}

	// A request's trailers, read by the server.
	got := make(chan http.Header, 2)
	addr, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			got <- nil
			return
		}
		got <- r.Trailer
	}), ServerConfig{})
	raw := "POST / HTTP/1.1\r\nHost: x\r\nTrailer: X-Sum, Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n" +
		"X-Sum: 9\r\nContent-Length: 5\r\nHost: evil\r\n\r\n"
	if status := testnet.RawExchange(t, addr, raw); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if tr := <-got; len(tr) != 1 || tr.Get("X-Sum") != "9" {
		t.Errorf("request trailer %v, want X-Sum only", tr)
	}
	raw = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-A: a\x00b\r\n\r\n"
	if status := testnet.RawExchange(t, addr, raw); status != http.StatusBadRequest {
		t.Errorf("NUL in a request trailer: status %d, want the body to fail", status)
	}
	<-got
}

// TestClientRefusesUnaskedSwitch: the client never sends Upgrade (the
// proxy drops it as hop-by-hop), so a 101 Switching Protocols is no answer
// to its request: an error, and the connection is not reused.
func TestClientRefusesUnaskedSwitch(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	addr := rawUpstream(t, func(nc net.Conn) {
		mu.Lock()
		conns++
		mu.Unlock()
		br := bufio.NewReader(nc)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.URL.Path == "/switch" {
				io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET /x HTTP/1.1\r\n\r\n")
				continue
			}
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	c := newTestClient(t)
	req, _ := http.NewRequest("GET", "http://"+addr+"/switch", nil)
	if resp, err := c.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatalf("101 to a request without Upgrade accepted: %d", resp.StatusCode)
	}
	if resp, body := get(t, c, "http://"+addr+"/ok"); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("next answer %d %q", resp.StatusCode, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 2 {
		t.Errorf("%d upstream connections, want 2: the one that switched is not reused", conns)
	}
}
