package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/proxy/config"
)

// TestFastPathUpstreamClosedAfterAnswer: an upstream that closes each
// connection just after answering, without saying so, leaves the proxy a
// pooled connection it used a moment ago and that is dead. A GET taken on
// it without the look at whether it is open (h1.Client.TakeRecent) meets
// the close and goes again on a new connection, unseen by the client and
// the upstream; a POST with a body is never written on it. Every request
// is answered, and the upstream gets each exactly once.
func TestFastPathUpstreamClosedAfterAnswer(t *testing.T) {
	up := startScriptedUpstream(t)
	up.closed = make(chan int, 16)
	up.setAnswer(func(string) string { return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + hangUpMark })
	p := serveProxy(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up.addr())}, config.Policy{}))
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	methods := []string{"GET", "GET", "HEAD", "POST", "GET", "GET"}
	for i, m := range methods {
		var body io.Reader
		if m == "POST" {
			body = strings.NewReader("{}")
		}
		req, _ := http.NewRequest(m, "http://"+p.addr+"/x", body)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d (%s): %v", i, m, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d (%s): status %d, body %q", i, m, resp.StatusCode, b)
		}
		// The upstream has closed the connection that answered (its FIN
		// is at the proxy's side of loopback once close returns).
		<-up.closed
	}
	up.mu.Lock()
	got := len(up.got)
	up.mu.Unlock()
	if got != len(methods) {
		t.Fatalf("upstream got %d requests, want %d (each once)", got, len(methods))
	}
	if n := p.fastServed(); n != float64(len(methods)) {
		t.Fatalf("fast path served %v requests, want %d", n, len(methods))
	}
}
