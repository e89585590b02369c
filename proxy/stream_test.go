package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/proxy/config"
)

func TestStreamingBodies(t *testing.T) {
	release := make(chan struct{})
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/upload":
			sum := sha256.New()
			n, _ := io.Copy(sum, r.Body)
			w.Header().Set("X-Len", strconv.Itoa(int(n)))
			_, _ = io.WriteString(w, hex.EncodeToString(sum.Sum(nil)))
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			<-release // continue only once the client has read the first event
			_, _ = io.WriteString(w, "data: second\n\n")
		}
	}))
	h := start(t, config.Config{
		Clusters: []config.ClusterConfig{{Name: "up", Endpoints: eps(up)}},
		Routes:   []config.RouteConfig{{Match: config.MatchConfig{Prefix: "/"}, Cluster: "up"}},
	})

	t.Run("large upload streams through", func(t *testing.T) {
		data := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB
		want := sha256.Sum256(data)
		// A pipe hides the length, so the body goes chunked.
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write(data)
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, h.url+"/upload", pr)
		resp, body := h.do(t, req)
		if resp.StatusCode != 200 || body != hex.EncodeToString(want[:]) || resp.Header.Get("X-Len") != strconv.Itoa(len(data)) {
			t.Fatalf("status %d len %s body %q", resp.StatusCode, resp.Header.Get("X-Len"), body)
		}
	})

	t.Run("response streams before the upstream finishes", func(t *testing.T) {
		resp, err := h.client.Get(h.url + "/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		line, err := br.ReadString('\n')
		if err != nil || line != "data: first\n" {
			t.Fatalf("first event %q, %v", line, err)
		}
		close(release)
		rest, _ := io.ReadAll(br)
		if !strings.Contains(string(rest), "data: second") {
			t.Errorf("rest %q", rest)
		}
	})
}

func TestHTTP2(t *testing.T) {
	us := httptest.NewUnstartedServer(echo("h2c-upstream"))
	us.Config.Protocols = new(http.Protocols)
	us.Config.Protocols.SetHTTP1(true)
	us.Config.Protocols.SetUnencryptedHTTP2(true)
	us.Start()
	t.Cleanup(us.Close)
	h := start(t, config.Config{
		Clusters: []config.ClusterConfig{{Name: "up", Protocol: config.ProtocolH2C, Endpoints: eps(us.Listener.Addr().String())}},
		Routes:   []config.RouteConfig{{Match: config.MatchConfig{Prefix: "/"}, Cluster: "up"}},
	})
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := strings.NewReader(strings.Repeat("x", 100<<10))
	resp, err := client.Post(h.url+"/h2", "text/plain", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 {
		t.Errorf("downstream protocol %s, want HTTP/2", resp.Proto)
	}
	e := decodeEcho(t, string(b))
	if e.Proto != "HTTP/2.0" || e.BodyLen != 100<<10 {
		t.Errorf("upstream saw %s with %d bytes", e.Proto, e.BodyLen)
	}
	if got := e.Header.Get("Via"); got != "2 meshbench" {
		t.Errorf("Via %q", got)
	}
}
