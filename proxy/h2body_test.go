package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/proxy/config"
)

// TestH2EmptyBodyTakesOwnClient: an HTTP/2 request without a body (its
// HEADERS end the stream), or with content-length: 0, goes upstream
// through the cluster's own client, as an HTTP/1.1 one does, not net/http's
// Transport: golang.org/x/net/http2 gives every request a Body, which made
// the proxy take such requests for bodies of unknown length. The Transport
// makes up a User-Agent for a request without one and the own client does
// not, which is what the upstream tells apart here. A request with a body
// still carries it.
func TestH2EmptyBodyTakesOwnClient(t *testing.T) {
	up := upstream(t, echo("up"))
	h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up)}, config.Policy{}))
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	for _, tc := range []struct {
		name, method, body string
		contentLength      int64
	}{
		{"GET ending the stream", http.MethodGet, "", 0},
		{"POST with content-length 0", http.MethodPost, "", 0},
		{"POST with a body", http.MethodPost, "hello", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.method == http.MethodPost {
				// A non-nil body with ContentLength 0 makes the client
				// send content-length: 0 and a DATA frame ending the
				// stream.
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, h.url+"/x", body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tc.contentLength
			req.Header["User-Agent"] = []string{""} // none sent
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
				t.Fatalf("answer %s %d, want HTTP/2 200", resp.Proto, resp.StatusCode)
			}
			e := decodeEcho(t, string(b))
			if ua, ok := e.Header["User-Agent"]; ok {
				t.Errorf("upstream saw User-Agent %q: the request went through net/http's Transport", ua)
			}
			if e.BodyLen != len(tc.body) || e.Method != tc.method {
				t.Errorf("upstream saw %s with %d body bytes, want %s with %d", e.Method, e.BodyLen, tc.method, len(tc.body))
			}
			if cl := e.Header.Get("Content-Length"); tc.method == http.MethodPost && cl != "" && cl != "0" && tc.body == "" {
				t.Errorf("upstream saw Content-Length %q for an empty body", cl)
			}
		})
	}
}
