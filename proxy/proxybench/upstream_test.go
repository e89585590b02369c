package proxybench

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestUpstream(t *testing.T) {
	u, err := StartUpstream("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()

	t.Run("net/http client, keep-alive", func(t *testing.T) {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		for range 3 {
			resp, err := c.Post("http://"+u.Addr()+"/x", "text/plain", strings.NewReader("a body"))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "ok" {
				t.Fatalf("%d %q", resp.StatusCode, b)
			}
		}
	})
	for _, tc := range []struct {
		name      string
		raw       string
		answers   int
		closeConn bool
	}{
		{"pipelined", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", 2, false},
		{"body by length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: x\r\n\r\n", 2, false},
		{"connection close", "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1, true},
		{"HTTP/1.0", "GET /a HTTP/1.0\r\n\r\n", 1, true},
		{"chunked is answered then closed", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", u.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, tc.raw); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(c)
			for i := range tc.answers {
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || string(b) != "ok" {
					t.Fatalf("answer %d: %d %q", i, resp.StatusCode, b)
				}
			}
			if tc.closeConn {
				if _, err := r.ReadByte(); err != io.EOF {
					t.Errorf("the connection stayed open: %v", err)
				}
				return
			}
			// Still open: one more request is answered.
			if _, err := io.WriteString(c, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			if resp, err := http.ReadResponse(r, nil); err != nil || resp.StatusCode != 200 {
				t.Errorf("the connection did not stay open: %v", err)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		response string
		ok, keep bool
		next     bool // a second response follows and must parse
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true, true, true},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n", true, true, true},
		{"error status", "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy", false, true, true},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true, false, false},
		{"HTTP/1.0 to the end", "HTTP/1.0 200 OK\r\n\r\nuntil EOF", true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			go func() {
				defer server.Close()
				br := bufio.NewReader(server)
				for range 2 {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					if _, err := io.WriteString(server, tc.response); err != nil {
						return
					}
					if !tc.keep {
						return
					}
				}
			}()
			c := &loopConn{Conn: client, r: bufio.NewReader(client), stop: func() bool { return true }}
			req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			ok, keep, err := c.roundTrip(req)
			if err != nil || ok != tc.ok || keep != tc.keep {
				t.Fatalf("ok=%v keep=%v err=%v, want ok=%v keep=%v", ok, keep, err, tc.ok, tc.keep)
			}
			if tc.next {
				if ok, _, err := c.roundTrip(req); err != nil || ok != tc.ok {
					t.Fatalf("second response: ok=%v err=%v", ok, err)
				}
			}
		})
	}
}
