package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshbench/meshbench/internal/testnet"
	"github.com/meshbench/meshbench/proxy/config"
)

// scriptedUpstream is an HTTP/1.1 upstream that records every request as it
// arrived (head and body) and answers each with bytes a test scripted.
type scriptedUpstream struct {
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	got      []string
	gotConn  []int // the connection (by accept order) each request came on
	accepted int
	answer   func(req string) string // the raw answer; "" resets the connection
}

func startScriptedUpstream(t *testing.T) *scriptedUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &scriptedUpstream{ln: ln, conns: map[net.Conn]struct{}{}}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns[c] = struct{}{}
			u.accepted++
			id := u.accepted
			u.mu.Unlock()
			u.wg.Add(1)
			go u.serve(c, id)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		u.mu.Lock()
		for c := range u.conns {
			c.Close()
		}
		u.mu.Unlock()
		u.wg.Wait()
	})
	return u
}

func (u *scriptedUpstream) addr() string { return u.ln.Addr().String() }

func (u *scriptedUpstream) serve(c net.Conn, id int) {
	defer u.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		var head strings.Builder
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(l)
			if l == "\r\n" {
				break
			}
		}
		req := head.String()
		if i := strings.Index(strings.ToLower(req), "\r\ncontent-length: "); i >= 0 {
			v, _, _ := strings.Cut(req[i+len("\r\ncontent-length: "):], "\r\n")
			n, _ := strconv.Atoi(v)
			body := make([]byte, n)
			if _, err := io.ReadFull(br, body); err != nil {
				return
			}
			req += string(body)
		} else if strings.Contains(strings.ToLower(req), "\r\ntransfer-encoding: chunked\r\n") {
			body, err := io.ReadAll(httputil.NewChunkedReader(br))
			if err != nil {
				return
			}
			if _, err := br.ReadString('\n'); err != nil { // the empty trailer section
				return
			}
			req += string(body)
		}
		u.mu.Lock()
		u.got = append(u.got, req)
		u.gotConn = append(u.gotConn, id)
		answer := u.answer
		u.mu.Unlock()
		a := answer(req)
		if a == "" {
			return
		}
		a, hangUp := strings.CutSuffix(a, hangUpMark)
		if _, err := io.WriteString(c, a); err != nil || hangUp {
			return
		}
		if strings.Contains(a, "Connection: close") || !strings.Contains(a, "Content-Length") && !strings.Contains(a, "chunked") && !strings.HasPrefix(a, "HTTP/1.1 204") {
			return
		}
	}
}

// last returns the last request the upstream got, and the connection it
// came on.
func (u *scriptedUpstream) last() (string, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.got) == 0 {
		return "", 0
	}
	return u.got[len(u.got)-1], u.gotConn[len(u.gotConn)-1]
}

func (u *scriptedUpstream) setAnswer(f func(string) string) {
	u.mu.Lock()
	u.answer = f
	u.mu.Unlock()
}

// withoutFastPath sends every request through the general path.
func withoutFastPath() Option { return func(o *options) { o.noFastPath = true } }

// servedProxy is a proxy serving on loopback with its own registry.
type servedProxy struct {
	p    *Proxy
	addr string
	reg  *prometheus.Registry
}

func serveProxy(t *testing.T, cfg config.Config, opts ...Option) *servedProxy {
	t.Helper()
	reg := prometheus.NewRegistry()
	p, err := New(cfg, append([]Option{quiet(t), WithSeed(1), WithMetricsRegistry(reg)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ln) }()
	t.Cleanup(func() {
		_ = p.Shutdown(context.Background())
		<-done
	})
	return &servedProxy{p: p, addr: ln.Addr().String(), reg: reg}
}

func (s *servedProxy) fastServed() float64 {
	var v float64
	_, _ = fmt.Sscan(strings.TrimSpace(metricLines(nil, s.reg, "meshbench_proxy_fast_path_requests_total")), &v)
	return v
}

// wireAnswer is a downstream answer as the client read it.
type wireAnswer struct {
	status  int
	header  []string // "Name: value" lines, sorted, without Date
	body    string
	trailer []string
	open    bool // the connection took another request
	err     error
}

// sendRaw writes raw on a new connection and reads the answer; with again
// set it then asks again on the same connection to learn whether it was
// kept open.
func sendRaw(t *testing.T, addr, raw, method string, again bool) wireAnswer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return wireAnswer{err: err}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	a := wireAnswer{status: resp.StatusCode, body: string(body), err: err}
	for k, vs := range resp.Header {
		if k == "Date" {
			continue
		}
		for _, v := range vs {
			a.header = append(a.header, k+": "+v)
		}
	}
	slices.Sort(a.header)
	for k, vs := range resp.Trailer {
		for _, v := range vs {
			a.trailer = append(a.trailer, k+": "+v)
		}
	}
	slices.Sort(a.trailer)
	if resp.Close || err != nil || !again {
		return a
	}
	if _, err := io.WriteString(c, "GET /again HTTP/1.1\r\nHost: again\r\n\r\n"); err == nil {
		if r2, err := http.ReadResponse(br, nil); err == nil {
			_, _ = io.Copy(io.Discard, r2.Body)
			a.open = true
		}
	}
	return a
}

// normalRequest is an upstream request with what legitimately differs
// between two proxies made equal: a generated request id and the
// milliseconds of the deadline.
func normalRequest(t *testing.T, raw string) string {
	t.Helper()
	head, body, _ := strings.Cut(raw, "\r\n\r\n")
	line, fields, _ := strings.Cut(head, "\r\n")
	var out []string
	for f := range strings.SplitSeq(fields, "\r\n") {
		name, value, _ := strings.Cut(f, ": ")
		switch name {
		case HeaderRequestID:
			if len(value) == 36 && value[8] == '-' {
				value = "<generated>"
			}
		case HeaderDeadline:
			ms, err := strconv.Atoi(value)
			if err != nil || ms < 1 || ms > 15000 {
				t.Errorf("deadline field %q", value)
			}
			value = "<ms>"
		}
		out = append(out, name+": "+value)
	}
	slices.Sort(out)
	return line + "\n" + strings.Join(out, "\n") + "\n\n" + body
}

func normalAnswer(a wireAnswer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d open=%v err=%v\n", a.status, a.open, a.err)
	for _, h := range a.header {
		name, value, _ := strings.Cut(h, ": ")
		if name == HeaderRequestID && len(value) == 36 && value[8] == '-' {
			h = name + ": <generated>"
		}
		b.WriteString(h + "\n")
	}
	b.WriteString("\n" + a.body + "\n")
	for _, h := range a.trailer {
		b.WriteString(h + "\n")
	}
	return b.String()
}

// hangUpMark ends a scripted answer after which the upstream closes the
// connection, whatever the answer says.
const hangUpMark = "<hang up>"

const plainOK = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"

// TestFastPathMatchesGeneralPath sends the same requests, with the same
// upstream answers, through a proxy with the fast path and one without,
// and requires the same request upstream (fields compared as a set: the
// general path writes them in map order), the same answer downstream and
// the same connection reuse on both sides. Each case also says whether the
// fast path must have taken it, so that a change that quietly sends
// everything to the general path fails here too.
func TestFastPathMatchesGeneralPath(t *testing.T) {
	upFast, upSlow := startScriptedUpstream(t), startScriptedUpstream(t)
	cfgFor := func(up string) config.Config {
		return config.Config{
			Clusters: []config.ClusterConfig{{Name: "up", Endpoints: eps(up)}},
			Routes: []config.RouteConfig{
				{Name: "retrying", Match: config.MatchConfig{Prefix: "/retry"}, Cluster: "up", Policy: config.Policy{Retry: config.RetryConfig{Attempts: 2}}},
				{Name: "strip", Match: config.MatchConfig{Prefix: "/strip/"}, Cluster: "up", Rewrite: config.RewriteConfig{StripPrefix: true, Host: "inner.test"}},
				{Name: "byheader", Match: config.MatchConfig{Prefix: "/", Headers: []config.HeaderMatchConfig{{Name: "x-canary", Exact: "a,b"}}}, Cluster: "up",
					Rewrite: config.RewriteConfig{Prefix: "/canary/"}},
				{Name: "all", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up"},
			},
		}
	}
	var logFast, logSlow syncBuffer
	fast := serveProxy(t, cfgFor(upFast.addr()), WithAccessLog(&logFast))
	slow := serveProxy(t, cfgFor(upSlow.addr()), withoutFastPath(), WithAccessLog(&logSlow))

	get := func(target string, fields ...string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: shop.test\r\n" + strings.Join(fields, "") + "\r\n"
	}
	cases := []struct {
		name   string
		req    string
		method string
		answer string
		fast   bool
	}{
		{name: "minimal", req: get("/"), answer: plainOK, fast: true},
		{name: "query and fields", req: get("/pay/42?currency=EUR&x=%20",
			"user-agent: t\r\n", "Accept: a\r\n", "Accept: b\r\n", "X-Custom-thing:  v  \r\n"), answer: plainOK, fast: true},
		{name: "forwarding fields extended", req: get("/",
			"X-Forwarded-For: 10.0.0.1\r\n", "X-Forwarded-For: 10.0.0.2\r\n", "Via: 1.1 edge\r\n",
			"X-Forwarded-Proto: https\r\n", "X-Forwarded-Host: shop.example\r\n"), answer: plainOK, fast: true},
		{name: "request id kept", req: get("/", "X-Request-Id: abc-123\r\n"), answer: plainOK, fast: true},
		{name: "bad request id replaced", req: get("/", "X-Request-Id: a\r\n", "x-request-id: b\r\n"), answer: plainOK, fast: true},
		{name: "deadline", req: get("/", HeaderDeadline+": 15000\r\n"), answer: plainOK, fast: true},
		{name: "hop-by-hop dropped", req: get("/", "Connection: keep-alive\r\n", "Keep-Alive: timeout=5\r\n",
			"Proxy-Authorization: x\r\n", "Proxy-Connection: keep-alive\r\n"), answer: plainOK, fast: true},
		{name: "client closes", req: get("/", "Connection: close\r\n", "Close: x\r\n"), answer: plainOK, fast: true},
		{name: "post with body", req: "POST /pay HTTP/1.1\r\nHost: shop.test\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"amount\":1}",
			answer: plainOK, fast: true},
		{name: "post without body", req: "POST /pay HTTP/1.1\r\nHost: shop.test\r\n\r\n", answer: plainOK, fast: true},
		{name: "put empty body", req: "PUT /pay HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 0\r\n\r\n", answer: plainOK, fast: true},
		{name: "head", req: "HEAD /x HTTP/1.1\r\nHost: shop.test\r\n\r\n", method: "HEAD",
			answer: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", fast: true},
		{name: "prefix stripped and host rewritten", req: get("/strip/a/b?q=1"), answer: plainOK, fast: true},
		{name: "routed by joined header", req: get("/h", "X-Canary: a\r\n", "x-canary: b\r\n"), answer: plainOK, fast: true},
		{name: "not routed by header", req: get("/h", "X-Canary: a\r\n"), answer: plainOK, fast: true},
		{name: "host with port and case", req: "GET / HTTP/1.1\r\nHost: SHOP.test:8080\r\n\r\n", answer: plainOK, fast: true},

		{name: "answer fields", answer: "HTTP/1.1 201 Created\r\nLocation: /pay/1\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\n" +
			"Via: 1.0 app\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nX-Request-Id: from-upstream\r\nContent-Length: 3\r\n\r\nabc",
			req: get("/"), fast: true},
		{name: "answer hop-by-hop", answer: "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTrailer: X\r\n" +
			"Upgrade: h2c\r\nContent-Length: 2\r\n\r\nok", req: get("/"), fast: true},
		{name: "answer closes", answer: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", req: get("/"), fast: true},
		{name: "answer HTTP/1.0 keep-alive", answer: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", req: get("/"), fast: true},
		{name: "answer HTTP/1.0", answer: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", req: get("/"), fast: true},
		{name: "no content", answer: "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", req: get("/"), fast: true},
		{name: "not modified", answer: "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 10\r\n\r\n", req: get("/"), fast: true},
		{name: "server error", answer: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", req: get("/"), fast: true},
		{name: "odd reason and code", answer: "HTTP/1.1 299 Fine Thanks\r\nContent-Length: 0\r\n\r\n", req: get("/"), fast: true},
		{name: "early hints first", answer: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			req: get("/"), fast: true},
		{name: "malformed early hints", answer: "HTTP/1.1 103 Early Hints\r\nLink </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			req: get("/"), fast: true},
		{name: "chunked answer", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3\r\n!!!\r\n0\r\n\r\n", req: get("/"), fast: true},
		{name: "chunked answer with trailers", answer: "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 9\r\n\r\n",
			req: get("/"), fast: true},
		{name: "answer to the end of the connection", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close", req: get("/"), fast: true},
		{name: "answer names a field in Connection", answer: "HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nContent-Length: 2\r\n\r\nok",
			req: get("/"), fast: true},
		{name: "malformed answer", answer: "HTTP/1.1 200 OK\r\nBad Field: 1\r\nContent-Length: 2\r\n\r\nok", req: get("/"), fast: true},
		{name: "conflicting answer lengths", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", req: get("/"), fast: true},
		{name: "upstream resets", answer: "", req: get("/"), fast: true},
		{name: "body cut short", answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc" + hangUpMark, req: get("/"), fast: true},
		{name: "chunked body cut short", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n" + hangUpMark, req: get("/"), fast: true},

		// What the fast path leaves to the general path.
		{name: "retrying route", req: get("/retry"), answer: plainOK, fast: true},
		{name: "escaped path", req: get("/a%2Fb"), answer: plainOK},
		{name: "unclean path", req: get("/a/../b"), answer: plainOK, fast: true},
		{name: "absolute form", req: "GET http://shop.test/x HTTP/1.1\r\nHost: shop.test\r\n\r\n", answer: plainOK},
		{name: "HTTP/1.0", req: "GET / HTTP/1.0\r\nHost: shop.test\r\n\r\n", answer: plainOK},
		{name: "chunked request", req: "POST /pay HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", answer: plainOK},
		{name: "te trailers", req: get("/", "TE: trailers\r\n"), answer: plainOK},
		{name: "connection option", req: get("/", "Connection: X-Private\r\n", "X-Private: 1\r\n"), answer: plainOK},
		{name: "missing host", req: "GET / HTTP/1.1\r\n\r\n", answer: plainOK},
		{name: "two hosts", req: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", answer: plainOK},
		{name: "bad deadline", req: get("/", HeaderDeadline+": soon\r\n"), answer: plainOK},
		{name: "expired deadline", req: get("/", HeaderDeadline+": 0\r\n"), answer: plainOK},
		{name: "conflicting lengths", req: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", answer: plainOK},
		{name: "obs-fold", req: get("/", "X-A: 1\r\n", " 2\r\n"), answer: plainOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := cmpOr(tc.method, http.MethodGet)
			answer := func(req string) string {
				if strings.HasPrefix(req, "GET /again ") {
					return plainOK
				}
				return tc.answer
			}
			upFast.setAnswer(answer)
			upSlow.setAnswer(answer)
			before := fast.fastServed()
			_, nFast0 := upFast.last()
			_, nSlow0 := upSlow.last()
			gotFast := sendRaw(t, fast.addr, tc.req, method, true)
			gotSlow := sendRaw(t, slow.addr, tc.req, method, true)
			// The answer to "/again" is the scripted one too; count the
			// first request only.
			served := fast.fastServed() - before
			if gotFast.open {
				served-- // "/again", which the fast path takes
			}
			if (served > 0) != tc.fast {
				t.Errorf("fast path served %v requests, want fast=%v", served, tc.fast)
			}
			if a, b := normalAnswer(gotFast), normalAnswer(gotSlow); a != b {
				t.Errorf("answers differ\nfast path:\n%s\ngeneral path:\n%s", a, b)
			}
			reqFast, nFast := upFast.last()
			reqSlow, nSlow := upSlow.last()
			if a, b := normalRequest(t, reqFast), normalRequest(t, reqSlow); a != b {
				t.Errorf("upstream requests differ\nfast path:\n%s\ngeneral path:\n%s", a, b)
			}
			if (nFast == nFast0) != (nSlow == nSlow0) {
				t.Errorf("upstream connection reused: fast path %v, general path %v", nFast == nFast0, nSlow == nSlow0)
				for _, u := range []*scriptedUpstream{upFast, upSlow} {
					u.mu.Lock()
					for i, r := range u.got {
						line, _, _ := strings.Cut(r, "\r\n")
						t.Logf("%d %s", u.gotConn[i], line)
					}
					u.mu.Unlock()
				}
			}
		})
	}

	// Both proxies logged the same requests, but for the time they took and
	// the ids they made up.
	a, b := strings.Split(normalLog(t, logFast.String()), "\n"), strings.Split(normalLog(t, logSlow.String()), "\n")
	if len(a) != len(b) {
		t.Errorf("access logs: fast path %d records, general path %d", len(a), len(b))
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			t.Errorf("access log record %d differs\nfast path:    %s\ngeneral path: %s", i, a[i], b[i])
		}
	}

	// Both proxies counted the same requests, by route, cluster and code,
	// and the same upstream tries.
	for _, name := range []string{"meshbench_proxy_requests_total", "meshbench_proxy_upstream_requests_total"} {
		a, b := metricLines(t, fast.reg, name), metricLines(t, slow.reg, name)
		if a != b {
			t.Errorf("%s differs\nfast path:\n%s\ngeneral path:\n%s", name, a, b)
		}
	}
}

// syncBuffer is a bytes.Buffer for a writer on other goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// normalLog is an access log without times, durations and made-up ids,
// one record per line in the order written.
func normalLog(t *testing.T, log string) string {
	t.Helper()
	var out []string
	for line := range strings.SplitSeq(strings.TrimSpace(log), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("access log line %q: %v", line, err)
		}
		delete(rec, "time")
		delete(rec, "duration_ms")
		delete(rec, "endpoint") // each proxy has its own upstream
		if id, _ := rec["request_id"].(string); len(id) == 36 && id[8] == '-' {
			rec["request_id"] = "<generated>"
		}
		b, _ := json.Marshal(rec)
		out = append(out, string(b))
	}
	return strings.Join(out, "\n")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// metricLines renders one metric family as sorted "labels value" lines.
func metricLines(t *testing.T, reg *prometheus.Registry, name string) string {
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	var lines []string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				if l.GetName() == "endpoint" {
					continue // each proxy has its own upstream
				}
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			lines = append(lines, strings.Join(labels, ",")+" "+strconv.FormatFloat(m.GetCounter().GetValue(), 'f', -1, 64))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestFastPathFailuresMatchGeneralPath runs what goes wrong — limits,
// timeouts, refused connections, a client that leaves — through a proxy
// with the fast path and one without, and requires the same answers and
// the same metrics from both, and that the fast path took the requests.
func TestFastPathFailuresMatchGeneralPath(t *testing.T) {
	ok := func(string) string { return plainOK }
	var hang func(string) string // an upstream that never answers

	type step struct {
		req    string
		leave  bool // the client goes away without reading the answer
		status int
		reason string
	}
	get := "GET /pay HTTP/1.1\r\nHost: shop.test\r\nX-Api-Key: k1\r\n\r\n"
	post := "POST /pay HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 12\r\n\r\n{\"amount\":7}"
	cases := []struct {
		name   string
		route  func(up string) (config.RouteConfig, config.ClusterConfig)
		answer func(string) string
		script []string // answers in turn (the last repeats), hangUp for one that never comes
		steps  []step
	}{
		{
			name: "route rate limit",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up",
						Policy: config.Policy{RateLimit: &config.RateLimitConfig{Rate: 0.001, Burst: 2}}},
					config.ClusterConfig{Name: "up", Endpoints: eps(up)}
			},
			answer: ok,
			steps: []step{{req: get, status: 200}, {req: get, status: 200},
				{req: get, status: 429, reason: ReasonRateLimited}},
		},
		{
			name: "consumer rate limit by header",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up",
						Policy: config.Policy{ConsumerRateLimit: &config.ConsumerRateLimitConfig{Key: "header:X-Api-Key",
							RateLimitConfig: config.RateLimitConfig{Rate: 0.001, Burst: 1}}}},
					config.ClusterConfig{Name: "up", Endpoints: eps(up)}
			},
			answer: ok,
			steps: []step{{req: get, status: 200}, {req: get, status: 429, reason: ReasonConsumerLimited},
				{req: strings.Replace(get, "k1", "k2", 1), status: 200}},
		},
		{
			name: "route timeout",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up",
						Policy: config.Policy{Timeout: config.Duration(50 * time.Millisecond)}},
					config.ClusterConfig{Name: "up", Endpoints: eps(up)}
			},
			answer: hang,
			steps:  []step{{req: get, status: 504, reason: ReasonRequestTimeout}},
		},
		{
			name: "caller deadline",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up"},
					config.ClusterConfig{Name: "up", Endpoints: eps(up)}
			},
			answer: hang,
			steps: []step{{req: strings.Replace(get, "\r\n\r\n", "\r\n"+HeaderDeadline+": 40\r\n\r\n", 1),
				status: 504, reason: ReasonRequestTimeout}},
		},
		{
			name: "connection refused",
			route: func(string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up"},
					config.ClusterConfig{Name: "up", Endpoints: eps(deadAddr(t))}
			},
			answer: ok,
			steps:  []step{{req: get, status: 503, reason: ReasonConnectFailure}},
		},
		{
			name: "breaker opens",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up"},
					config.ClusterConfig{Name: "up", Endpoints: eps(up),
						CircuitBreaker: &config.BreakerConfig{ConsecutiveFailures: 2, SleepWindow: config.Duration(time.Hour)}}
			},
			answer: func(string) string { return "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n" },
			steps: []step{{req: get, status: 500}, {req: get, status: 500},
				{req: get, status: 503, reason: ReasonCircuitOpen}},
		},
		{
			name: "retried after 503",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up", Policy: retrying(3, 0)},
					config.ClusterConfig{Name: "up", Endpoints: eps(up)}
			},
			script: []string{"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", plainOK},
			steps:  []step{{req: post, status: 200}},
		},
		{
			name: "retried after a long 503 and a chunked 502",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up", Policy: retrying(3, 0)},
					config.ClusterConfig{Name: "up", Endpoints: eps(up)}
			},
			script: []string{"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("x", 5000),
				"HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n", plainOK},
			steps: []step{{req: post, status: 200}},
		},
		{
			name: "retries run out",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up", Policy: retrying(2, 0)},
					config.ClusterConfig{Name: "up", Endpoints: eps(up)}
			},
			script: []string{"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"},
			steps:  []step{{req: get, status: 503}},
		},
		{
			name: "retried after a reset",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up", Policy: retrying(3, 0)},
					config.ClusterConfig{Name: "up", Endpoints: eps(up)}
			},
			script: []string{"", plainOK},
			steps:  []step{{req: post, status: 200}},
		},
		{
			name: "retried on another endpoint after a refused connection",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up", Policy: retrying(3, 0)},
					// Port 1 refuses, and sorts before any ephemeral port,
					// so that both proxies try the endpoints in one order.
					config.ClusterConfig{Name: "up", Endpoints: eps("127.0.0.1:1", up)}
			},
			script: []string{plainOK},
			steps:  []step{{req: get, status: 200}, {req: get, status: 200}, {req: get, status: 200}},
		},
		{
			name: "per-try timeout",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up", Policy: retrying(3, 50*time.Millisecond)},
					config.ClusterConfig{Name: "up", Endpoints: eps(up)}
			},
			script: []string{hangUpMark, plainOK},
			steps:  []step{{req: post, status: 200}},
		},
		{
			name: "body too long to replay",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				p := retrying(3, 0)
				p.Retry.BufferBytes = 4
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up", Policy: p},
					config.ClusterConfig{Name: "up", Endpoints: eps(up)}
			},
			script: []string{"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", plainOK},
			steps:  []step{{req: post, status: 503}},
		},
		{
			name: "hashed by header",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up",
						Policy: config.Policy{HashKey: config.HashKeyConfig{Header: "X-Api-Key"}}},
					config.ClusterConfig{Name: "up", Endpoints: eps(up), Balancer: config.BalancerConfig{Type: "ring_hash"}}
			},
			answer: ok,
			steps:  []step{{req: get, status: 200}, {req: strings.Replace(get, "k1", "k2", 1), status: 200}},
		},
		{
			name: "client leaves",
			route: func(up string) (config.RouteConfig, config.ClusterConfig) {
				return config.RouteConfig{Name: "r", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up"},
					config.ClusterConfig{Name: "up", Endpoints: eps(up)}
			},
			answer: hang,
			steps:  []step{{req: get, leave: true}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			var proxies [2]*servedProxy
			var ups [2]*scriptedUpstream
			for i := range proxies {
				answer := tc.answer
				switch {
				case tc.script != nil:
					var mu sync.Mutex
					n := 0
					answer = func(string) string {
						mu.Lock()
						a := tc.script[min(n, len(tc.script)-1)]
						n++
						mu.Unlock()
						if a == hangUpMark {
							<-release
							return ""
						}
						return a
					}
				case answer == nil:
					answer = func(string) string { <-release; return "" }
				}
				ups[i] = startScriptedUpstream(t)
				ups[i].setAnswer(answer)
				rc, cc := tc.route(ups[i].addr())
				var opts []Option
				if i == 1 {
					opts = append(opts, withoutFastPath())
				}
				proxies[i] = serveProxy(t, config.Config{Clusters: []config.ClusterConfig{cc}, Routes: []config.RouteConfig{rc}}, opts...)
			}
			// First of the cleanups: a hanging upstream lets go, then the
			// proxies shut down, then the upstreams.
			t.Cleanup(func() { close(release) })
			for i, p := range proxies {
				for j, s := range tc.steps {
					if s.leave {
						leaveEarly(t, p, ups[i])
						continue
					}
					got := sendRaw(t, p.addr, s.req, http.MethodGet, false)
					reason := ""
					for _, h := range got.header {
						if v, ok := strings.CutPrefix(h, HeaderReason+": "); ok {
							reason = v
						}
					}
					if got.status != s.status || reason != s.reason {
						t.Errorf("proxy %d step %d: %d %q, want %d %q", i, j, got.status, reason, s.status, s.reason)
					}
				}
			}
			if n := proxies[0].fastServed(); n == 0 {
				t.Error("the fast path served nothing")
			}
			var got [2][]string
			for i, u := range ups {
				u.mu.Lock()
				for _, r := range u.got {
					got[i] = append(got[i], normalRequest(t, r))
				}
				u.mu.Unlock()
			}
			if !slices.Equal(got[0], got[1]) {
				t.Errorf("upstream requests differ\nfast path:\n%s\ngeneral path:\n%s", strings.Join(got[0], "\n"), strings.Join(got[1], "\n"))
			}
			for _, name := range []string{"meshbench_proxy_requests_total", "meshbench_proxy_upstream_requests_total",
				"meshbench_proxy_rejections_total", "meshbench_proxy_retries_total"} {
				a, b := metricLines(t, proxies[0].reg, name), metricLines(t, proxies[1].reg, name)
				if a != b {
					t.Errorf("%s differs\nfast path:\n%s\ngeneral path:\n%s", name, a, b)
				}
			}
		})
	}
}

// retrying is a policy of attempts tries on 5xx answers, resets and
// refused connections, with a short back-off.
func retrying(attempts int, perTry time.Duration) config.Policy {
	return config.Policy{Retry: config.RetryConfig{Attempts: attempts, RetryOn: []string{"5xx", "reset", "connect-failure"},
		PerTryTimeout: config.Duration(perTry), BackoffBase: config.Duration(time.Millisecond)}}
}

// leaveEarly sends a request whose upstream never answers and closes the
// connection once the upstream has it; the proxy must then give up on the
// upstream connection (which the upstream sees closed) and count 499.
func leaveEarly(t *testing.T, p *servedProxy, up *scriptedUpstream) {
	t.Helper()
	up.mu.Lock()
	n := len(up.got)
	up.mu.Unlock()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /pay HTTP/1.1\r\nHost: shop.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		up.mu.Lock()
		defer up.mu.Unlock()
		return len(up.got) > n
	})
	c.Close()
	waitFor(t, func() bool {
		return strings.Contains(metricLines(t, p.reg, "meshbench_proxy_requests_total"), "code=499")
	})
}

// waitFor looks at cond, yielding between looks, for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		runtime.Gosched()
	}
}

// TestFastPathOverTLS: a request on a TLS listener, HTTP/1.1 or h2 by
// ALPN, takes the fast path too, and goes upstream marked
// X-Forwarded-Proto: https, as on the general path.
func TestFastPathOverTLS(t *testing.T) {
	up := startScriptedUpstream(t)
	up.setAnswer(func(string) string { return plainOK })
	cert, pool := testnet.SelfSigned(t)
	for _, proto := range []string{"http/1.1", "h2"} {
		for _, fast := range []bool{true, false} {
			opts := []Option{WithServerTLS(&tls.Config{Certificates: []tls.Certificate{cert}})}
			if !fast {
				opts = append(opts, withoutFastPath())
			}
			p := serveProxy(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up.addr())}, config.Policy{}), opts...)
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{proto}}, ForceAttemptHTTP2: proto == "h2"}
			req, _ := http.NewRequest(http.MethodGet, "https://"+p.addr+"/tls", nil)
			req.Host = "shop.test"
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			got, _ := up.last()
			if resp.StatusCode != 200 || !strings.Contains(got, "\r\nX-Forwarded-Proto: https\r\n") {
				t.Errorf("%s fast=%v: %d, upstream got %q", proto, fast, resp.StatusCode, got)
			}
			if (resp.ProtoMajor == 2) != (proto == "h2") {
				t.Errorf("%s fast=%v: answered over %s", proto, fast, resp.Proto)
			}
			if n := p.fastServed(); (n == 1) != fast {
				t.Errorf("%s fast=%v: the fast path served %v requests", proto, fast, n)
			}
		}
	}
}

// TestFastPathPipelined: requests that arrive together, one with a body,
// are answered in order on the fast path, each body going with its own
// request.
func TestFastPathPipelined(t *testing.T) {
	up := startScriptedUpstream(t)
	up.setAnswer(func(req string) string {
		_, body, _ := strings.Cut(req, "\r\n\r\n")
		line, _, _ := strings.Cut(req, "\r\n")
		echo := line + "|" + body
		return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(echo)) + "\r\n\r\n" + echo
	})
	p := serveProxy(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up.addr())}, config.Policy{}))
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /two HTTP/1.1\r\nHost: a\r\n\r\n"+
		"PUT /three HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for _, want := range []string{"POST /one HTTP/1.1|hello", "GET /two HTTP/1.1|", "PUT /three HTTP/1.1|xyz"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != want {
			t.Errorf("got %q, want %q", body, want)
		}
	}
	if n := p.fastServed(); n != 3 {
		t.Errorf("the fast path served %v of 3", n)
	}
}
