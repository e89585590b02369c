package cache

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a virtual clock the tests advance.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

// origin answers with the headers and body set per path, counting calls.
type origin struct {
	calls   atomic.Int32
	respond func(w http.ResponseWriter, r *http.Request)
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.calls.Add(1)
	o.respond(w, r)
}

// fixed answers status with headers (pairs) and a body naming the call.
func fixed(o *origin, status int, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Add(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "call %d", o.calls.Load())
	}
}

type harness struct {
	t     *testing.T
	clock *clock
	cache *Cache
	orig  *origin
	h     http.Handler
}

func newHarness(t *testing.T, cfg Config, respond func(*origin) func(http.ResponseWriter, *http.Request)) *harness {
	t.Helper()
	clk := &clock{now: epoch}
	cfg.Clock = clk.Now
	cfg.StatusHeader = "X-Cache"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o := &origin{}
	o.respond = respond(o)
	return &harness{t: t, clock: clk, cache: c, orig: o, h: c.Middleware(o)}
}

func (h *harness) do(method, target string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, r)
	return w
}

// expect does a request and checks the X-Cache status and the body.
func (h *harness) expect(status, body, method, target string, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	w := h.do(method, target, headers...)
	if got := w.Header().Get("X-Cache"); got != status {
		h.t.Fatalf("%s %s: X-Cache %q, want %q", method, target, got, status)
	}
	if w.Body.String() != body {
		h.t.Fatalf("%s %s: body %q, want %q", method, target, w.Body, body)
	}
	return w
}

func TestHitMissExpiry(t *testing.T) {
	h := newHarness(t, Config{}, func(o *origin) func(http.ResponseWriter, *http.Request) {
		return fixed(o, 200, "Cache-Control", "max-age=60")
	})
	h.expect(StatusMiss, "call 1", "GET", "/a")
	h.clock.advance(10 * time.Second)
	w := h.expect(StatusHit, "call 1", "GET", "/a")
	if w.Header().Get("Age") != "10" || w.Header().Get("Cache-Control") != "max-age=60" {
		t.Fatalf("hit headers %v", w.Header())
	}
	h.expect(StatusMiss, "call 2", "GET", "/a?x=1") // another URI
	h.clock.advance(50 * time.Second)               // age 60: stale
	h.expect(StatusMiss, "call 3", "GET", "/a")
	h.expect(StatusHit, "call 3", "GET", "/a")
	if st := h.cache.Stats(); st.Hits != 2 || st.Expired != 1 || st.Stores != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFreshnessSources(t *testing.T) {
	date := epoch.Format(http.TimeFormat)
	for _, tc := range []struct {
		name    string
		headers []string
		ttl     time.Duration
		fresh   time.Duration // 0: not stored
	}{
		{"s-maxage beats max-age", []string{"Cache-Control", "max-age=10, s-maxage=100"}, 0, 100 * time.Second},
		{"expires minus date", []string{"Date", date, "Expires", epoch.Add(30 * time.Second).Format(http.TimeFormat)}, 0, 30 * time.Second},
		{"max-age beats expires", []string{"Cache-Control", "max-age=5", "Expires", epoch.Add(time.Hour).Format(http.TimeFormat)}, 0, 5 * time.Second},
		{"invalid expires", []string{"Expires", "0"}, time.Minute, 0},
		{"past expires", []string{"Date", date, "Expires", date}, 0, 0},
		{"upstream age counts", []string{"Cache-Control", "max-age=60", "Age", "50"}, 0, 10 * time.Second},
		{"upstream age over lifetime", []string{"Cache-Control", "max-age=60", "Age", "61"}, 0, 0},
		{"no information, no default", nil, 0, 0},
		{"no information, default ttl", nil, 20 * time.Second, 20 * time.Second},
		{"max-age=0", []string{"Cache-Control", "max-age=0"}, time.Minute, 0},
		{"invalid max-age", []string{"Cache-Control", "max-age=soon"}, time.Minute, 0},
		{"no-store", []string{"Cache-Control", "no-store, max-age=60"}, 0, 0},
		{"private", []string{"Cache-Control", "private, max-age=60"}, 0, 0},
		{"no-cache", []string{"Cache-Control", "no-cache, max-age=60"}, 0, 0},
		{"set-cookie", []string{"Cache-Control", "max-age=60", "Set-Cookie", "s=1"}, 0, 0},
		{"vary star", []string{"Cache-Control", "max-age=60", "Vary", "*"}, 0, 0},
		{"vary on an unconfigured header", []string{"Cache-Control", "max-age=60", "Vary", "Cookie"}, 0, 0},
		{"vary on a configured header", []string{"Cache-Control", "max-age=60", "Vary", "accept-encoding"}, 0, 60 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{DefaultTTL: tc.ttl, Vary: []string{"Accept-Encoding"}}, func(o *origin) func(http.ResponseWriter, *http.Request) {
				return fixed(o, 200, tc.headers...)
			})
			h.expect(StatusMiss, "call 1", "GET", "/")
			if tc.fresh == 0 {
				h.expect(StatusMiss, "call 2", "GET", "/")
				return
			}
			h.clock.advance(tc.fresh - time.Second)
			h.expect(StatusHit, "call 1", "GET", "/")
			h.clock.advance(time.Second)
			h.expect(StatusMiss, "call 2", "GET", "/")
		})
	}
}

func TestStatusesAndDefaultTTL(t *testing.T) {
	for _, tc := range []struct {
		status int
		cc     string
		stored bool
	}{
		{200, "", true}, {404, "", true}, {301, "", true}, {500, "", false}, {503, "", false},
		{500, "max-age=10", true}, // explicit freshness makes any final status storable
		{206, "max-age=10", false},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.status, tc.cc), func(t *testing.T) {
			var hs []string
			if tc.cc != "" {
				hs = []string{"Cache-Control", tc.cc}
			}
			h := newHarness(t, Config{DefaultTTL: time.Minute}, func(o *origin) func(http.ResponseWriter, *http.Request) {
				return fixed(o, tc.status, hs...)
			})
			h.do("GET", "/")
			h.do("GET", "/")
			if got := h.orig.calls.Load() == 1; got != tc.stored {
				t.Fatalf("stored %v (%d origin calls)", got, h.orig.calls.Load())
			}
		})
	}
}

func TestRequestDirectives(t *testing.T) {
	h := newHarness(t, Config{}, func(o *origin) func(http.ResponseWriter, *http.Request) {
		return fixed(o, 200, "Cache-Control", "max-age=100")
	})
	h.expect(StatusBypass, "call 1", "GET", "/", "Cache-Control", "no-store") // not stored either
	h.expect(StatusMiss, "not in cache\n", "GET", "/", "Cache-Control", "only-if-cached")
	h.expect(StatusMiss, "call 2", "GET", "/")
	h.expect(StatusMiss, "call 3", "GET", "/", "Cache-Control", "no-cache") // forwards, and stores the new response
	h.expect(StatusHit, "call 3", "GET", "/")
	h.expect(StatusMiss, "call 4", "GET", "/", "Pragma", "no-cache")
	h.clock.advance(30 * time.Second)
	h.expect(StatusMiss, "call 5", "GET", "/", "Cache-Control", "max-age=10") // age 30 > 10
	h.clock.advance(30 * time.Second)
	h.expect(StatusHit, "call 5", "GET", "/", "Cache-Control", "min-fresh=50")
	h.expect(StatusMiss, "call 6", "GET", "/", "Cache-Control", "min-fresh=71")
	h.expect(StatusHit, "call 6", "GET", "/", "Cache-Control", "only-if-cached")
	w := h.do("GET", "/other", "Cache-Control", "only-if-cached")
	if w.Code != http.StatusGatewayTimeout || h.orig.calls.Load() != 6 {
		t.Fatalf("only-if-cached miss: %d, %d origin calls", w.Code, h.orig.calls.Load())
	}
	h.expect(StatusBypass, "call 7", "GET", "/", "Range", "bytes=0-1")
}

func TestVaryKeys(t *testing.T) {
	h := newHarness(t, Config{Vary: []string{"Accept-Encoding", "Accept-Language"}}, func(o *origin) func(http.ResponseWriter, *http.Request) {
		return fixed(o, 200, "Cache-Control", "max-age=60", "Vary", "Accept-Encoding")
	})
	h.expect(StatusMiss, "call 1", "GET", "/", "Accept-Encoding", "gzip")
	h.expect(StatusMiss, "call 2", "GET", "/", "Accept-Encoding", "br")
	h.expect(StatusMiss, "call 3", "GET", "/")
	h.expect(StatusHit, "call 1", "GET", "/", "Accept-Encoding", "gzip")
	h.expect(StatusHit, "call 2", "GET", "/", "Accept-Encoding", "br")
	// Keyed on every configured header, even those the response does not
	// name: a miss, never a wrong answer.
	h.expect(StatusMiss, "call 4", "GET", "/", "Accept-Encoding", "gzip", "Accept-Language", "fr")
}

func TestAuthorizationRequests(t *testing.T) {
	for _, tc := range []struct {
		cc     string
		stored bool
	}{
		{"max-age=60", false},
		{"public, max-age=60", true},
		{"s-maxage=60", true},
		{"must-revalidate, max-age=60", true},
	} {
		t.Run(tc.cc, func(t *testing.T) {
			h := newHarness(t, Config{}, func(o *origin) func(http.ResponseWriter, *http.Request) {
				return fixed(o, 200, "Cache-Control", tc.cc)
			})
			h.do("GET", "/", "Authorization", "Bearer x")
			h.do("GET", "/")
			if got := h.orig.calls.Load() == 1; got != tc.stored {
				t.Fatalf("stored %v", got)
			}
		})
	}
}

func TestHeadAndInvalidation(t *testing.T) {
	h := newHarness(t, Config{}, func(o *origin) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "POST" && r.URL.Query().Get("fail") != "" {
				w.WriteHeader(500)
				return
			}
			fixed(o, 200, "Cache-Control", "max-age=60")(w, r)
		}
	})
	// A HEAD miss is forwarded, not stored (the recorder keeps the body a
	// server would drop).
	h.expect(StatusMiss, "call 1", "HEAD", "/r")
	h.expect(StatusMiss, "call 2", "GET", "/r")
	w := h.expect(StatusHit, "", "HEAD", "/r")
	if w.Code != 200 || w.Header().Get("Cache-Control") != "max-age=60" {
		t.Fatalf("HEAD hit: %d %v", w.Code, w.Header())
	}
	h.do("POST", "/r?fail=1") // a failed POST invalidates nothing
	h.expect(StatusHit, "call 2", "GET", "/r")
	h.expect(StatusBypass, "call 4", "PUT", "/r")
	h.expect(StatusMiss, "call 5", "GET", "/r")
	h.expect(StatusBypass, "call 6", "OPTIONS", "/r")
	h.expect(StatusHit, "call 5", "GET", "/r")
}

func TestLargeAndTruncatedResponsesNotStored(t *testing.T) {
	body := strings.Repeat("x", 5000)
	h := newHarness(t, Config{MaxBytes: 64 << 10, MaxEntryBytes: 4096}, func(o *origin) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			switch r.URL.Path {
			case "/big":
				io.WriteString(w, body[:2500])
				io.WriteString(w, body[2500:]) // crosses the limit on the second write
			case "/short":
				w.Header().Set("Content-Length", "100")
				io.WriteString(w, "only this")
			}
		}
	})
	for _, path := range []string{"/big", "/short"} {
		w1 := h.do("GET", path)
		h.do("GET", path)
		if path == "/big" && w1.Body.Len() != 5000 {
			t.Fatalf("client got %d bytes of the large response", w1.Body.Len())
		}
	}
	if n := h.orig.calls.Load(); n != 4 {
		t.Fatalf("%d origin calls, want 4 (nothing stored)", n)
	}
}

func TestEvictionUnderMemoryBound(t *testing.T) {
	const (
		body     = 1000
		maxBytes = 8 * 1024
	)
	h := newHarness(t, Config{MaxBytes: maxBytes, MaxEntryBytes: 2000}, func(o *origin) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=600")
			io.WriteString(w, strings.Repeat("b", body))
		}
	})
	for i := range 20 {
		h.do("GET", "/"+strconv.Itoa(i))
		if st := h.cache.Stats(); st.Bytes > maxBytes {
			t.Fatalf("after %d stores: %d bytes > %d", i+1, st.Bytes, maxBytes)
		}
		// Keep /0 recently used: LRU must spare it.
		h.do("GET", "/0")
	}
	st := h.cache.Stats()
	if st.Evictions == 0 || st.Entries == 0 || st.Entries >= 20 {
		t.Fatalf("stats %+v", st)
	}
	calls := h.orig.calls.Load()
	if h.do("GET", "/0"); h.orig.calls.Load() != calls {
		t.Fatal("the most recently used entry was evicted")
	}
	if h.do("GET", "/1"); h.orig.calls.Load() != calls+1 {
		t.Fatal("the least recently used entry was kept")
	}
}

func TestNewErrors(t *testing.T) {
	for _, cfg := range []Config{{MaxBytes: -1}, {MaxBytes: 10, MaxEntryBytes: 20}, {DefaultTTL: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func BenchmarkMiddleware(b *testing.B) {
	body := strings.Repeat("p", 2048)
	for _, tc := range []struct {
		name string
		cc   string
	}{{"hit", "max-age=3600"}, {"miss-uncacheable", "no-store"}} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := New(Config{Vary: []string{"Accept-Encoding"}})
			if err != nil {
				b.Fatal(err)
			}
			h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", tc.cc)
				io.WriteString(w, body)
			}))
			r := httptest.NewRequest("GET", "/payments/42", nil)
			r.Header.Set("Accept-Encoding", "gzip")
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
