package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// jwksServer serves a JWKS that the test can change, counting fetches.
type jwksServer struct {
	mu      sync.Mutex
	body    []byte
	status  int
	fetches atomic.Int32
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != 0 {
		w.WriteHeader(s.status)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write(s.body)
}

func (s *jwksServer) set(body []byte, status int) {
	s.mu.Lock()
	s.body, s.status = body, status
	s.mu.Unlock()
}

func TestRemoteJWKSRefresh(t *testing.T) {
	old := newSigner(t, "ES256", "old", 0)
	rotated := newSigner(t, "ES256", "new", 0)
	srv := &jwksServer{body: jwksJSON(t, old)}
	ts := httptest.NewServer(srv) // 127.0.0.1
	defer ts.Close()
	remote, err := NewRemoteJWKS(ts.URL+"/jwks.json", RemoteOptions{MaxAge: time.Hour, MinRefreshInterval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := func(kid string, now time.Time) error {
		_, err := remote.Key(ctx, kid, "ES256", now)
		return err
	}
	steps := []struct {
		name    string
		do      func()
		kid     string
		at      time.Duration
		ok      bool
		fetches int32
	}{
		{"first use fetches", nil, "old", 0, true, 1},
		{"cached", nil, "old", time.Second, true, 1},
		{"unknown kid within the interval of the first fetch waits", func() { srv.set(jwksJSON(t, old, rotated), 0) }, "new", 2 * time.Second, false, 1},
		{"issuer rotated, unknown kid refetches", nil, "new", 11 * time.Second, true, 2},
		{"forged kid right after is rate limited", nil, "forged", 12 * time.Second, false, 2},
		{"forged kid again within the interval", nil, "forged", 20 * time.Second, false, 2},
		{"forged kid after the interval refetches once", nil, "forged", 22 * time.Second, false, 3},
		{"known kid does not refetch", nil, "new", 23 * time.Second, true, 3},
		{"stale after MaxAge refetches", nil, "new", time.Hour + 23*time.Second, true, 4},
		{"failed refetch keeps the old set", func() { srv.set(nil, 500) }, "old", 2*time.Hour + 24*time.Second, true, 5},
		{"failure is not retried within the interval", nil, "old", 2*time.Hour + 25*time.Second, true, 5},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		err := key(st.kid, epoch.Add(st.at))
		if (err == nil) != st.ok {
			t.Fatalf("%s: err = %v", st.name, err)
		}
		if !st.ok && !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("%s: err = %v, want ErrUnknownKey", st.name, err)
		}
		if got := srv.fetches.Load(); got != st.fetches {
			t.Fatalf("%s: %d fetches, want %d", st.name, got, st.fetches)
		}
	}
}

func TestRemoteJWKSFirstFetchFails(t *testing.T) {
	srv := &jwksServer{status: 404}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	remote, err := NewRemoteJWKS(ts.URL, RemoteOptions{MinRefreshInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Key(context.Background(), "k", "ES256", epoch); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v", err)
	}
	if _, err := remote.Key(context.Background(), "k", "ES256", epoch.Add(time.Second)); err == nil || srv.fetches.Load() != 1 {
		t.Fatalf("retried within the interval: %d fetches", srv.fetches.Load())
	}
	srv.set(jwksJSON(t, newSigner(t, "ES256", "k", 0)), 0)
	if err := remote.Refresh(context.Background(), epoch.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Key(context.Background(), "k", "ES256", epoch.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestRemoteJWKSWithJWTAndTLS(t *testing.T) {
	s := newSigner(t, "RS256", "k1", 0)
	srv := &jwksServer{body: jwksJSON(t, s)}
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	remote, err := NewRemoteJWKS(ts.URL, RemoteOptions{Client: ts.Client()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewJWT(JWTConfig{Issuer: "https://issuer.test", Keys: remote, Clock: fixedClock(epoch)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), s.sign(t, goodClaims())); err != nil {
		t.Fatal(err)
	}
	ts.Client().CloseIdleConnections()
}

func TestNewRemoteJWKSLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/jwks", true},
		{"https://127.9.9.9/jwks", true},
		{"http://[::1]:80/jwks", true},
		{"http://localhost/jwks", true},
		{"https://issuer.example.com/jwks", false},
		{"http://10.0.0.1/jwks", false},
		{"ftp://127.0.0.1/jwks", false},
		{"file:///etc/jwks", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := NewRemoteJWKS(tc.url, RemoteOptions{})
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestLoopbackClientRefusesOtherAddresses(t *testing.T) {
	c := loopbackClient()
	defer c.CloseIdleConnections()
	// 192.0.2.0/24 is TEST-NET-1: the dialer's Control must refuse it
	// before any packet is sent.
	req, _ := http.NewRequest("GET", "http://192.0.2.1/", nil)
	if _, err := c.Do(req); err == nil {
		t.Fatal("dialled a non-loopback address")
	}
}
