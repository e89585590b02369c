package local

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTriesTellRetriesFromHedges(t *testing.T) {
	tr := newTries()
	release := make(chan struct{})
	var started sync.WaitGroup
	slow := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		started.Done()
		<-release
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})
	fast := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 503, Body: http.NoBody}, nil
	})
	req := func(id string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
		if id != "" {
			r.Header.Set("X-Request-Id", id)
		}
		return r
	}

	// Two sequential tries: one retry.
	for range 2 {
		if _, err := tr.transport(fast).RoundTrip(req("a")); err != nil {
			t.Fatal(err)
		}
	}
	// A try while another is waiting: a hedge.
	started.Add(1)
	done := make(chan struct{})
	go func() {
		_, _ = tr.transport(slow).RoundTrip(req("b"))
		close(done)
	}()
	started.Wait()
	if _, err := tr.transport(fast).RoundTrip(req("b")); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-done
	// No id: not counted.
	if _, err := tr.transport(fast).RoundTrip(req("")); err != nil {
		t.Fatal(err)
	}

	if r, h := tr.take("a"); r != 1 || h != 0 {
		t.Errorf("a: %d retries %d hedges, want 1, 0", r, h)
	}
	if r, h := tr.take("b"); r != 0 || h != 1 {
		t.Errorf("b: %d retries %d hedges, want 0, 1", r, h)
	}
	if r, h := tr.take("a"); r != 0 || h != 0 {
		t.Error("take does not forget")
	}
	if len(tr.m) != 0 {
		t.Errorf("%d requests still counted", len(tr.m))
	}
}

func TestHandlerTransport(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/abort":
			panic(http.ErrAbortHandler)
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Host", r.Host)
			w.Header().Set("X-Remote", r.RemoteAddr)
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(b)
		}
	})
	c := &http.Client{Transport: handlerTransport{h: h}, Timeout: 5 * time.Second}
	resp, err := c.Post("http://risk/echo?x=1", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(b) != "hello" || resp.Header.Get("X-Host") != "risk" || resp.Header.Get("X-Remote") == "" {
		t.Errorf("answer %d %q %v", resp.StatusCode, b, resp.Header)
	}
	if _, err := c.Get("http://risk/abort"); err == nil {
		t.Error("an aborted answer came back as an answer")
	}
}
