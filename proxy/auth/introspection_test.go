package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// introspectionServer is an authorization server's introspection endpoint
// on loopback that knows tokens by value and checks the gateway's client
// credentials; it counts the calls.
func introspectionServer(t *testing.T, tokens map[string]Introspection) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		id, secret, ok := r.BasicAuth()
		if r.Method != http.MethodPost || !ok || id != "gateway" || secret != "s3cret" {
			http.Error(w, "unauthorized client", http.StatusUnauthorized)
			return
		}
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "want a form", http.StatusBadRequest)
			return
		}
		ans, ok := tokens[r.PostFormValue("token")]
		if !ok {
			ans = Introspection{Active: false}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ans)
	}))
	t.Cleanup(s.Close)
	return s, &calls
}

func TestIntrospectorJudgesAnswers(t *testing.T) {
	exp := epoch.Add(time.Hour).Unix()
	tokens := map[string]Introspection{
		"good":      {Active: true, Subject: "acme", Issuer: "https://as.test", Audience: Audience{"payments"}, Expiry: exp, Scope: "pay read"},
		"client":    {Active: true, ClientID: "batch", Issuer: "https://as.test", Audience: Audience{"other", "payments"}},
		"expired":   {Active: true, Subject: "acme", Issuer: "https://as.test", Audience: Audience{"payments"}, Expiry: epoch.Add(-time.Second).Unix()},
		"other-aud": {Active: true, Subject: "acme", Issuer: "https://as.test", Audience: Audience{"ledger"}, Expiry: exp},
		"other-iss": {Active: true, Subject: "acme", Issuer: "https://evil.test", Audience: Audience{"payments"}, Expiry: exp},
	}
	s, _ := introspectionServer(t, tokens)
	in, err := NewIntrospector(IntrospectionConfig{URL: s.URL, ClientID: "gateway", ClientSecret: "s3cret",
		Issuer: "https://as.test", Audiences: []string{"payments"}, Clock: func() time.Time { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token, id string
		err       error
	}{
		{"good", "acme", nil},
		{"client", "batch", nil},
		{"unknown", "", ErrTokenInactive},
		{"expired", "", jwt.ErrTokenExpired},
		{"other-aud", "", jwt.ErrTokenInvalidAudience},
		{"other-iss", "", jwt.ErrTokenInvalidIssuer},
	} {
		t.Run(tc.token, func(t *testing.T) {
			c, err := in.AuthenticateToken(context.Background(), tc.token)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if c.ID != tc.id {
				t.Errorf("consumer %q, want %q", c.ID, tc.id)
			}
			if err == nil && c.Method != MethodOAuth2 {
				t.Errorf("method %q", c.Method)
			}
		})
	}
	c, _ := in.AuthenticateToken(context.Background(), "good")
	if len(c.Scopes) != 2 || c.Scopes[0] != "pay" {
		t.Errorf("scopes %v", c.Scopes)
	}
}

func TestIntrospectorCachesForTTL(t *testing.T) {
	tokens := map[string]Introspection{"good": {Active: true, Subject: "acme", Expiry: epoch.Add(90 * time.Second).Unix()}}
	s, calls := introspectionServer(t, tokens)
	now := epoch
	in, err := NewIntrospector(IntrospectionConfig{URL: s.URL, ClientID: "gateway", ClientSecret: "s3cret",
		CacheTTL: time.Minute, NegativeTTL: time.Second, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	step := func(d time.Duration, tok string, wantCalls int64, wantErr error) {
		t.Helper()
		now = now.Add(d)
		if _, err := in.AuthenticateToken(ctx, tok); !errors.Is(err, wantErr) {
			t.Fatalf("at %s %s: err %v, want %v", now.Sub(epoch), tok, err, wantErr)
		}
		if got := calls.Load(); got != wantCalls {
			t.Fatalf("at %s %s: %d calls, want %d", now.Sub(epoch), tok, got, wantCalls)
		}
	}
	step(0, "good", 1, nil)
	step(59*time.Second, "good", 1, nil) // cached for the ttl
	step(time.Second, "good", 2, nil)    // the ttl is over
	// The second answer is cached until exp (90s), not a full minute.
	step(29*time.Second, "good", 2, nil)
	step(time.Second, "good", 3, jwt.ErrTokenExpired) // past exp: asked again, still says exp
	step(0, "bad", 4, ErrTokenInactive)
	step(999*time.Millisecond, "bad", 4, ErrTokenInactive) // negative cache
	step(time.Millisecond, "bad", 5, ErrTokenInactive)
	if st := in.Cache().Stats(); st.Hits != 3 || st.Misses != 5 {
		t.Errorf("stats %+v, want 3 hits, 5 misses", st)
	}
}

func TestIntrospectorFailsClosed(t *testing.T) {
	// Wrong client credentials: the endpoint answers 401, the request is
	// refused and nothing is cached.
	s, calls := introspectionServer(t, map[string]Introspection{"good": {Active: true, Subject: "a"}})
	in, err := NewIntrospector(IntrospectionConfig{URL: s.URL, ClientID: "gateway", ClientSecret: "wrong", Clock: func() time.Time { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := in.AuthenticateToken(context.Background(), "good"); !errors.Is(err, ErrIntrospectionFailed) {
			t.Fatalf("err %v", err)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("%d calls: a failure was cached", calls.Load())
	}
	// A hanging endpoint: the timeout answers.
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)
	in, err = NewIntrospector(IntrospectionConfig{URL: slow.URL, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.AuthenticateToken(context.Background(), "x"); !errors.Is(err, ErrIntrospectionFailed) {
		t.Fatalf("err %v", err)
	}
	if _, err := NewIntrospector(IntrospectionConfig{URL: "http://192.0.2.1/introspect"}); err == nil {
		t.Error("a non-loopback endpoint accepted")
	}
}

func TestIntrospectionCacheBound(t *testing.T) {
	c := NewIntrospectionCache(2)
	c.Put(epoch, "a", Introspection{Active: true}, time.Minute)
	c.Put(epoch, "b", Introspection{Active: true}, 2*time.Minute)
	c.Put(epoch, "c", Introspection{Active: true}, 3*time.Minute) // drops a, the soonest to expire
	if _, ok := c.Get(epoch, "a"); ok {
		t.Error("a kept")
	}
	for _, k := range []string{"b", "c"} {
		if _, ok := c.Get(epoch, k); !ok {
			t.Errorf("%s dropped", k)
		}
	}
	// Expired answers go first.
	c.Put(epoch.Add(150*time.Second), "d", Introspection{}, time.Second)
	if _, ok := c.Get(epoch.Add(150*time.Second), "c"); !ok {
		t.Error("c dropped while b had expired")
	}
}

func TestIntrospectionMiddleware(t *testing.T) {
	s, _ := introspectionServer(t, map[string]Introspection{"good": {Active: true, Subject: "acme"}})
	mw, err := Build("r", Params{Type: "introspection", IntrospectionURL: s.URL, ClientID: "gateway", ClientSecret: "s3cret"}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Error("token forwarded")
		}
		w.Write([]byte(ConsumerKey(r)))
	}))
	for _, tc := range []struct {
		auth string
		code int
	}{{"Bearer good", 200}, {"Bearer nope", 401}, {"", 401}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code {
			t.Errorf("%q: %d, want %d", tc.auth, rec.Code, tc.code)
		}
	}
}
