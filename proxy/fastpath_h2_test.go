package proxy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/meshbench/meshbench/proxy/config"
)

// h2Request is a request as an HTTP/2 client sends it, on a new h2c
// connection: pseudo-header fields, regular fields ("name: value") and,
// when body is not empty, DATA after HEADERS.
type h2Request struct {
	method, path, authority string
	fields                  []string
	body                    string
}

// h2Answer is an HTTP/2 answer as the client read it.
type h2Answer struct {
	header  []string // "name: value", sorted, without date
	body    string
	trailer []string
	reset   string // the RST_STREAM code, if the stream was reset
	err     error
}

// h2Conn is a client's h2c connection, written frame by frame.
type h2Conn struct {
	t     *testing.T
	c     net.Conn
	fr    *http2.Framer
	block bytes.Buffer
	enc   *hpack.Encoder
}

// dialH2 opens an h2c connection to addr and sends the preface and
// SETTINGS; the connection closes when the test ends.
func dialH2(t *testing.T, addr string) *h2Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// Closed with a reset, not into TIME_WAIT: a fuzz test dials once per
	// input, and would run out of local ports.
	_ = c.(*net.TCPConn).SetLinger(0)
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	hc := &h2Conn{t: t, c: c, fr: http2.NewFramer(c, c)}
	hc.fr.ReadMetaHeaders = hpack.NewDecoder(64<<10, nil)
	hc.enc = hpack.NewEncoder(&hc.block)
	if err := hc.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return hc
}

// send sends req on stream id: HEADERS, and DATA when it has a body.
func (hc *h2Conn) send(id uint32, req h2Request) {
	hc.t.Helper()
	hc.block.Reset()
	enc := hc.enc
	_ = enc.WriteField(hpack.HeaderField{Name: ":method", Value: req.method})
	_ = enc.WriteField(hpack.HeaderField{Name: ":scheme", Value: "http"})
	_ = enc.WriteField(hpack.HeaderField{Name: ":path", Value: req.path})
	if req.authority != "" {
		_ = enc.WriteField(hpack.HeaderField{Name: ":authority", Value: req.authority})
	}
	for _, f := range req.fields {
		name, value, _ := strings.Cut(f, ": ")
		_ = enc.WriteField(hpack.HeaderField{Name: name, Value: value})
	}
	if err := hc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hc.block.Bytes(),
		EndStream: req.body == "", EndHeaders: true}); err != nil {
		hc.t.Fatal(err)
	}
	if req.body != "" {
		if err := hc.fr.WriteData(id, true, []byte(req.body)); err != nil {
			hc.t.Fatal(err)
		}
	}
}

// sendH2 sends req on a new h2c connection and reads its answer frame by
// frame.
func sendH2(t *testing.T, addr string, req h2Request) h2Answer {
	t.Helper()
	hc := dialH2(t, addr)
	defer hc.c.Close()
	hc.send(1, req)
	fr := hc.fr
	var a h2Answer
	var body strings.Builder
	headers := 0
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			a.err = err
			return a
		}
		end := false
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID != 1 {
				continue
			}
			var lines []string
			for _, hf := range f.Fields {
				if hf.Name != "date" {
					lines = append(lines, hf.Name+": "+hf.Value)
				}
			}
			slices.Sort(lines)
			if headers == 0 {
				a.header = lines
			} else {
				a.trailer = lines
			}
			headers++
			end = f.StreamEnded()
		case *http2.DataFrame:
			if f.StreamID != 1 {
				continue
			}
			body.Write(f.Data())
			if n := len(f.Data()); n > 0 {
				_ = fr.WriteWindowUpdate(0, uint32(n))
				_ = fr.WriteWindowUpdate(1, uint32(n))
			}
			end = f.StreamEnded()
		case *http2.RSTStreamFrame:
			if f.StreamID == 1 {
				a.reset, end = f.ErrCode.String(), true
			}
		case *http2.GoAwayFrame:
			a.err, end = fmt.Errorf("GOAWAY %v", f.ErrCode), true
		}
		if end {
			a.body = body.String()
			return a
		}
	}
}

func normalH2Answer(a h2Answer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "reset=%q err=%v\n", a.reset, a.err)
	for _, h := range a.header {
		name, value, _ := strings.Cut(h, ": ")
		if name == "x-request-id" && len(value) == 36 && value[8] == '-' {
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

// TestFastPathH2MatchesGeneralPath is TestFastPathMatchesGeneralPath for
// HTTP/2 requests: the same request, with the same upstream answer,
// through a proxy with the fast path and one without, must reach the
// upstream as the same request and the client as the same answer, and be
// logged and counted alike. Each case says whether the fast path must have
// taken it.
func TestFastPathH2MatchesGeneralPath(t *testing.T) {
	upFast, upSlow := startScriptedUpstream(t), startScriptedUpstream(t)
	dead := deadAddr(t)
	cfgFor := func(up string) config.Config {
		return config.Config{
			Clusters: []config.ClusterConfig{
				{Name: "up", Endpoints: eps(up)},
				{Name: "dead", Endpoints: eps(dead)},
			},
			Routes: []config.RouteConfig{
				{Name: "retrying", Match: config.MatchConfig{Prefix: "/retry"}, Cluster: "up", Policy: config.Policy{Retry: config.RetryConfig{Attempts: 2}}},
				{Name: "dead", Match: config.MatchConfig{Prefix: "/dead"}, Cluster: "dead"},
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

	get := func(path string, fields ...string) h2Request {
		return h2Request{method: "GET", path: path, authority: "shop.test", fields: fields}
	}
	big := strings.Repeat("0123456789abcdef", 40<<10/16)
	cases := []struct {
		name   string
		req    h2Request
		answer string
		fast   bool
	}{
		{name: "minimal", req: get("/"), answer: plainOK, fast: true},
		{name: "query and fields", req: get("/pay/42?currency=EUR&x=%20",
			"user-agent: t", "accept: a", "accept: b", "x-custom-thing: v"), answer: plainOK, fast: true},
		{name: "forwarding fields extended", req: get("/",
			"x-forwarded-for: 10.0.0.1", "x-forwarded-for: 10.0.0.2", "via: 1.1 edge",
			"x-forwarded-proto: https", "x-forwarded-host: shop.example"), answer: plainOK, fast: true},
		{name: "request id kept", req: get("/", "x-request-id: abc-123"), answer: plainOK, fast: true},
		{name: "bad request id replaced", req: get("/", "x-request-id: a", "x-request-id: b"), answer: plainOK, fast: true},
		{name: "deadline", req: get("/", "x-meshbench-deadline-ms: 15000"), answer: plainOK, fast: true},
		{name: "hop-by-hop dropped", req: get("/", "proxy-authorization: x"), answer: plainOK, fast: true},
		{name: "one cookie", req: get("/", "cookie: a=1"), answer: plainOK, fast: true},
		{name: "host field, no authority", req: h2Request{method: "GET", path: "/", fields: []string{"host: shop.test"}}, answer: plainOK, fast: true},
		{name: "authority wins over host", req: get("/", "host: other.test"), answer: plainOK, fast: true},
		{name: "post without body", req: h2Request{method: "POST", path: "/pay", authority: "shop.test"}, answer: plainOK, fast: true},
		{name: "content-length 0", req: h2Request{method: "PUT", path: "/pay", authority: "shop.test", fields: []string{"content-length: 0"}}, answer: plainOK, fast: true},
		{name: "head", req: h2Request{method: "HEAD", path: "/x", authority: "shop.test"},
			answer: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", fast: true},
		{name: "prefix stripped and host rewritten", req: get("/strip/a/b?q=1"), answer: plainOK, fast: true},
		{name: "routed by joined header", req: get("/h", "x-canary: a", "x-canary: b"), answer: plainOK, fast: true},
		{name: "host with port and case", req: h2Request{method: "GET", path: "/", authority: "SHOP.test:8080"}, answer: plainOK, fast: true},

		{name: "answer fields", answer: "HTTP/1.1 201 Created\r\nLocation: /pay/1\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\n" +
			"Via: 1.0 app\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nX-Request-Id: from-upstream\r\nX-Odd_Name: 1\r\nContent-Length: 3\r\n\r\nabc",
			req: get("/"), fast: true},
		{name: "answer hop-by-hop", answer: "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTrailer: X\r\n" +
			"Upgrade: h2c\r\nContent-Length: 2\r\n\r\nok", req: get("/"), fast: true},
		{name: "answer closes", answer: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", req: get("/"), fast: true},
		{name: "answer HTTP/1.0", answer: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", req: get("/"), fast: true},
		{name: "answer without content type", answer: "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n<html></html>\n", req: get("/"), fast: true},
		{name: "no content", answer: "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", req: get("/"), fast: true},
		{name: "not modified", answer: "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 10\r\n\r\n", req: get("/"), fast: true},
		{name: "server error", answer: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", req: get("/"), fast: true},
		{name: "empty body", answer: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", req: get("/"), fast: true},
		{name: "body over one write", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
			fmt.Sprint(len(big)) + "\r\n\r\n" + big, req: get("/"), fast: true},
		{name: "early hints first", answer: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			req: get("/"), fast: true},
		{name: "chunked answer", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3\r\n!!!\r\n0\r\n\r\n", req: get("/"), fast: true},
		{name: "chunked answer with trailers", answer: "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 9\r\n\r\n",
			req: get("/"), fast: true},
		{name: "answer to the end of the connection", answer: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close", req: get("/"), fast: true},
		{name: "malformed answer", answer: "HTTP/1.1 200 OK\r\nBad Field: 1\r\nContent-Length: 2\r\n\r\nok", req: get("/"), fast: true},
		{name: "upstream resets", answer: "", req: get("/"), fast: true},
		{name: "upstream resets, retried", answer: "", req: get("/retry"), fast: true},
		{name: "no upstream", answer: plainOK, req: get("/dead"), fast: true},
		{name: "body cut short", answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc" + hangUpMark, req: get("/"), fast: true},
		{name: "long body cut short", answer: "HTTP/1.1 200 OK\r\nContent-Length: " + fmt.Sprint(len(big)+10) + "\r\n\r\n" + big + hangUpMark,
			req: get("/"), fast: true},

		// What the fast path leaves to the general path.
		{name: "post with body", req: h2Request{method: "POST", path: "/pay", authority: "shop.test", body: "{}"}, answer: plainOK},
		{name: "escaped path", req: get("/a%2Fb"), answer: plainOK},
		{name: "asterisk", req: h2Request{method: "OPTIONS", path: "*", authority: "shop.test"}, answer: plainOK},
		{name: "te trailers", req: get("/", "te: trailers"), answer: plainOK},
		{name: "cookies split", req: get("/", "cookie: a=1", "cookie: b=2"), answer: plainOK},
		{name: "grpc", req: get("/", "content-type: application/grpc"), answer: plainOK},
		{name: "bad deadline", req: get("/", "x-meshbench-deadline-ms: soon"), answer: plainOK},
		{name: "expired deadline", req: get("/", "x-meshbench-deadline-ms: 0"), answer: plainOK},
		{name: "no host", req: h2Request{method: "GET", path: "/"}, answer: plainOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answer := func(string) string { return tc.answer }
			upFast.setAnswer(answer)
			upSlow.setAnswer(answer)
			before := fast.fastServed()
			gotFast := sendH2(t, fast.addr, tc.req)
			gotSlow := sendH2(t, slow.addr, tc.req)
			if served := fast.fastServed() - before; (served > 0) != tc.fast {
				t.Errorf("fast path served %v requests, want fast=%v", served, tc.fast)
			}
			if a, b := normalH2Answer(gotFast), normalH2Answer(gotSlow); a != b {
				t.Errorf("answers differ\nfast path:\n%s\ngeneral path:\n%s", a, b)
			}
			reqFast, _ := upFast.last()
			reqSlow, _ := upSlow.last()
			// Without a host, each names its own upstream.
			reqFast = strings.ReplaceAll(reqFast, upFast.addr(), "<upstream>")
			reqSlow = strings.ReplaceAll(reqSlow, upSlow.addr(), "<upstream>")
			if a, b := normalRequest(t, reqFast), normalRequest(t, reqSlow); a != b {
				t.Errorf("upstream requests differ\nfast path:\n%s\ngeneral path:\n%s", a, b)
			}
		})
	}

	a, b := strings.Split(normalLog(t, logFast.String()), "\n"), strings.Split(normalLog(t, logSlow.String()), "\n")
	if len(a) != len(b) {
		t.Errorf("access logs: fast path %d records, general path %d", len(a), len(b))
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			t.Errorf("access log record %d differs\nfast path:    %s\ngeneral path: %s", i, a[i], b[i])
		}
	}
	for _, name := range []string{"meshbench_proxy_requests_total", "meshbench_proxy_upstream_requests_total"} {
		a, b := metricLines(t, fast.reg, name), metricLines(t, slow.reg, name)
		if a != b {
			t.Errorf("%s differs\nfast path:\n%s\ngeneral path:\n%s", name, a, b)
		}
	}
}

// TestFastPathH2ClientResets: a client that resets its stream while the
// upstream has not answered cancels the try on both paths, which count
// 499, and its connection goes on serving.
func TestFastPathH2ClientResets(t *testing.T) {
	for _, fast := range []bool{true, false} {
		up := startScriptedUpstream(t)
		hold := make(chan struct{})
		t.Cleanup(func() { close(hold) }) // runs before the upstream's own cleanup
		up.setAnswer(func(req string) string {
			if strings.HasPrefix(req, "GET /hold ") {
				<-hold
				return ""
			}
			return plainOK
		})
		var opts []Option
		if !fast {
			opts = append(opts, withoutFastPath())
		}
		p := serveProxy(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up.addr())}, config.Policy{}), opts...)
		hc := dialH2(t, p.addr)
		fr := hc.fr
		request := func(id uint32, path string) {
			hc.send(id, h2Request{method: "GET", path: path, authority: "shop.test"})
		}
		request(1, "/hold")
		waitFor(t, func() bool {
			got, _ := up.last()
			return strings.HasPrefix(got, "GET /hold ")
		})
		if err := fr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			return strings.Contains(metricLines(t, p.reg, "meshbench_proxy_requests_total"), "code=499")
		})
		request(3, "/ok")
		status := ""
		for status == "" {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("fast=%v: %v", fast, err)
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					_ = fr.WriteSettingsAck()
				}
			case *http2.MetaHeadersFrame:
				if f.StreamID == 1 {
					t.Errorf("fast=%v: the reset stream was answered", fast)
				}
				if f.StreamID == 3 {
					status = f.PseudoValue("status")
				}
			}
		}
		if status != "200" {
			t.Errorf("fast=%v: the next stream got %s", fast, status)
		}
		if n := p.fastServed(); (n == 2) != fast {
			t.Errorf("fast=%v: the fast path served %v requests", fast, n)
		}
	}
}
