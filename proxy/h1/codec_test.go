package h1

import (
	"bufio"
	"bytes"
	"cmp"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

func TestWriteRequest(t *testing.T) {
	tests := []struct {
		name string
		req  func() *http.Request
		want []string // lines the head must hold
		not  []string // and must not
		body string
		err  bool
	}{
		{
			name: "GET keeps fields, adds no User-Agent",
			req: func() *http.Request {
				r, _ := http.NewRequest("GET", "http://up.internal/a%20b?q=1", nil)
				r.Header.Set("X-Request-Id", "abc")
				r.Header.Set("Connection", "keep-alive")
				return r
			},
			want: []string{"GET /a%20b?q=1 HTTP/1.1", "Host: up.internal", "X-Request-Id: abc"},
			not:  []string{"User-Agent", "Content-Length", "Connection"},
		},
		{
			name: "POST without a body says so; Close asks to close",
			req: func() *http.Request {
				r, _ := http.NewRequest("POST", "http://up/p", nil)
				r.Host = "api.example"
				r.Close = true
				return r
			},
			want: []string{"Host: api.example", "Content-Length: 0", "Connection: close"},
		},
		{
			name: "body of its declared length; CR LF in a value cannot split the field",
			req: func() *http.Request {
				r, _ := http.NewRequest("PUT", "http://up/p", strings.NewReader("hello"))
				r.Header.Set("X-Note", "a\r\nEvil: 1")
				return r
			},
			want: []string{"Content-Length: 5", "X-Note: a  Evil: 1"},
			body: "hello",
		},
		{
			name: "a body shorter than declared is an error",
			req: func() *http.Request {
				r, _ := http.NewRequest("PUT", "http://up/p", strings.NewReader("hi"))
				r.ContentLength = 5
				return r
			},
			err: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			bw := bufio.NewWriter(&out)
			err := writeRequest(bw, tc.req())
			bw.Flush()
			if tc.err {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			head, body, _ := strings.Cut(out.String(), "\r\n\r\n")
			lines := strings.Split(head, "\r\n")
			for _, w := range tc.want {
				if !contains(lines, w) {
					t.Errorf("head lacks %q:\n%s", w, head)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(head, n+":") {
					t.Errorf("head has %q:\n%s", n, head)
				}
			}
			if body != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			// What was written parses as the request it came from.
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(out.String())))
			if err != nil {
				t.Fatalf("written request does not parse: %v", err)
			}
			if b, _ := io.ReadAll(r.Body); string(b) != tc.body {
				t.Errorf("parsed body %q", b)
			}
		})
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name, raw, method string
		status            int
		cl                int64
		body              string
		close             bool
		trailer           string
	}{
		{name: "length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiXX", status: 200, cl: 2, body: "hi"},
		{name: "chunked with trailer", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n2\r\nhi\r\n0\r\nX-T: v\r\n\r\n", status: 200, cl: -1, body: "hi", trailer: "v"},
		{name: "to the end", raw: "HTTP/1.1 200 OK\r\n\r\nall of it", status: 200, cl: -1, body: "all of it", close: true},
		{name: "HEAD has no body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", method: "HEAD", status: 200, cl: 9},
		{name: "304 has no body", raw: "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", status: 304, cl: 9},
		{name: "HTTP/1.0 closes", raw: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", status: 200, cl: 0, close: true},
		{name: "lowercase names", raw: "HTTP/1.1 201 Created\r\ncontent-length: 1\r\nconnection: close\r\n\r\nx", status: 201, cl: 1, body: "x", close: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf []byte
			req := &http.Request{Method: cmp.Or(tc.method, "GET")}
			resp, err := readResponse(bufio.NewReader(strings.NewReader(tc.raw)), req, &buf)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || resp.ContentLength != tc.cl || string(b) != tc.body || resp.Close != tc.close {
				t.Errorf("got %d len %d body %q close %v, want %d %d %q %v", resp.StatusCode, resp.ContentLength, b, resp.Close, tc.status, tc.cl, tc.body, tc.close)
			}
			if resp.Trailer.Get("X-T") != tc.trailer {
				t.Errorf("trailer %q, want %q", resp.Trailer.Get("X-T"), tc.trailer)
			}
		})
	}
	for _, bad := range []string{
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n",
	} {
		var buf []byte
		if _, err := readResponse(bufio.NewReader(strings.NewReader(bad)), &http.Request{Method: "GET"}, &buf); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzReadResponse: the answer parser never panics, and a body it accepts
// reads to an end.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: A\r\n\r\n1\r\nx\r\n0\r\nA: b\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 204 No Content\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chun\u212Aed\r\n\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Host, X\r\n\r\n0\r\nContent-Length: 1\r\nX: a\x00b\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var buf []byte
		resp, err := readResponse(bufio.NewReader(bytes.NewReader(raw)), &http.Request{Method: "GET"}, &buf)
		if err != nil {
			return
		}
		if resp.ProtoMinor == 0 && resp.TransferEncoding != nil {
			t.Fatal("accepted Transfer-Encoding in an HTTP/1.0 answer")
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if resp.ContentLength >= 0 && n > resp.ContentLength {
			t.Fatalf("read %d bytes of a declared %d", n, resp.ContentLength)
		}
		for k, vs := range resp.Trailer {
			if forbiddenTrailers[k] || !httpguts.ValidHeaderFieldName(k) {
				t.Fatalf("trailer field %q kept", k)
			}
			for _, v := range vs {
				if err == nil && !httpguts.ValidHeaderFieldValue(v) {
					t.Fatalf("trailer value %q kept", v)
				}
			}
		}
	})
}
