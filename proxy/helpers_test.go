package proxy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/discovery"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// echoed is what the echo upstream reports about the request it got.
type echoed struct {
	Name     string      `json:"name"`
	Method   string      `json:"method"`
	Host     string      `json:"host"`
	Path     string      `json:"path"`
	RawQuery string      `json:"rawQuery"`
	Proto    string      `json:"proto"`
	Header   http.Header `json:"header"`
	BodyLen  int         `json:"bodyLen"`
}

// echo returns a handler that answers with a JSON description of the
// request it received, under name.
func echo(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{Name: name, Method: r.Method, Host: r.Host, Path: r.URL.Path,
			RawQuery: r.URL.RawQuery, Proto: r.Proto, Header: r.Header, BodyLen: int(n)})
	}
}

// upstream starts an httptest server on 127.0.0.1 and returns its address.
func upstream(t testing.TB, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// deadAddr returns a 127.0.0.1 address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func eps(addrs ...string) []discovery.Endpoint {
	out := make([]discovery.Endpoint, len(addrs))
	for i, a := range addrs {
		out[i] = discovery.Endpoint{Address: a}
	}
	return out
}

// quiet is the logger of tests: errors only, to the test log.
func quiet(t testing.TB) Option {
	return WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError})))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// harness is a proxy serving on a 127.0.0.1 listener, with a client.
type harness struct {
	p      *Proxy
	url    string
	addr   string
	client *http.Client
}

func start(t testing.TB, cfg config.Config, opts ...Option) *harness {
	t.Helper()
	opts = append([]Option{quiet(t), WithSeed(1)}, opts...)
	p, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Serve(ln)
	}()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	h := &harness{p: p, url: "http://" + ln.Addr().String(), addr: ln.Addr().String(), client: &http.Client{Transport: tr}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-done
	})
	return h
}

// do sends a request through the proxy and returns the response with its
// body read.
func (h *harness) do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

func (h *harness) get(t testing.TB, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return h.do(t, req)
}

func decodeEcho(t testing.TB, body string) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not an echo: %q: %v", body, err)
	}
	return e
}

// events collects proxy events for tests to wait on.
type events struct {
	mu  sync.Mutex
	all []Event
	ch  chan Event
}

func newEvents() *events { return &events{ch: make(chan Event, 1024)} }

func (e *events) option() Option {
	return WithEvents(func(ev Event) {
		e.mu.Lock()
		e.all = append(e.all, ev)
		e.mu.Unlock()
		select {
		case e.ch <- ev:
		default:
		}
	})
}

// drain forgets the events received so far.
func (e *events) drain() {
	for {
		select {
		case <-e.ch:
		default:
			return
		}
	}
}

// wait returns the first event (from now on) that satisfies ok, failing the
// test after a generous bound.
func (e *events) wait(t testing.TB, what string, ok func(Event) bool) Event {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case ev := <-e.ch:
			if ok(ev) {
				return ev
			}
		case <-timeout.C:
			t.Fatalf("no %s event within 10s", what)
			return Event{}
		}
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func newGet(path string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://proxy.test"+path, nil)
	r.RemoteAddr = "127.0.0.1:4321"
	return r
}
