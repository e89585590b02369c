package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestStoreExpiry(t *testing.T) {
	s := NewStore(10 * time.Second)
	inst := Instance{Endpoint: Endpoint{Address: "127.0.0.1:1"}}
	if _, err := s.Register(t0, "pay", inst); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(t0, "pay", Instance{Endpoint: Endpoint{ID: "b", Address: "127.0.0.1:2"}, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		at    time.Duration
		do    func(now time.Time) error
		alive int
	}{
		{name: "both alive", at: 5 * time.Second, alive: 2},
		{name: "heartbeat renews", at: 9 * time.Second, do: func(now time.Time) error { _, err := s.Heartbeat(now, "pay", "127.0.0.1:1"); return err }, alive: 2},
		{name: "renewed one outlives its first ttl", at: 15 * time.Second, alive: 2},
		{name: "lapsed at 19s", at: 19 * time.Second, alive: 1},
		{name: "expired cannot heartbeat", at: 20 * time.Second, do: func(now time.Time) error {
			if _, err := s.Heartbeat(now, "pay", "127.0.0.1:1"); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("heartbeat after expiry: %v", err)
			}
			return nil
		}, alive: 1},
		{name: "deregister", at: 21 * time.Second, do: func(time.Time) error { return s.Deregister("pay", "b") }, alive: 0},
	}
	for _, st := range steps {
		now := t0.Add(st.at)
		if st.do != nil {
			if err := st.do(now); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		if got := len(s.List(now, "pay")); got != st.alive {
			t.Fatalf("%s: %d alive, want %d", st.name, got, st.alive)
		}
	}
	if n := s.Expire(t0.Add(time.Hour)); n != 1 {
		t.Errorf("Expire removed %d, want the one lapsed instance", n)
	}
}

// TestStoreProperty checks against a model that an instance is listed
// exactly while its last register or successful heartbeat is less than its
// TTL ago.
func TestStoreProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := NewStore(time.Second)
		expires := map[string]time.Time{}
		now := t0
		for i := range rapid.IntRange(1, 60).Draw(t, "ops") {
			now = now.Add(time.Duration(rapid.IntRange(0, 800).Draw(t, fmt.Sprintf("dt%d", i))) * time.Millisecond)
			id := fmt.Sprintf("127.0.0.1:%d", rapid.IntRange(1, 4).Draw(t, fmt.Sprintf("id%d", i)))
			switch rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("op%d", i)) {
			case 0:
				if _, err := s.Register(now, "svc", Instance{Endpoint: Endpoint{Address: id}}); err != nil {
					t.Fatal(err)
				}
				expires[id] = now.Add(time.Second)
			case 1:
				_, err := s.Heartbeat(now, "svc", id)
				if e, ok := expires[id]; ok && now.Before(e) {
					if err != nil {
						t.Fatalf("heartbeat of a live instance: %v", err)
					}
					expires[id] = now.Add(time.Second)
				} else if err == nil {
					t.Fatal("heartbeat of a lapsed instance succeeded")
				}
			case 2:
				err := s.Deregister("svc", id)
				if _, ok := expires[id]; ok != (err == nil) && now.Before(expires[id]) {
					t.Fatalf("deregister %s: %v", id, err)
				}
				delete(expires, id)
			case 3:
				s.Expire(now)
				for k, e := range expires {
					if !now.Before(e) {
						delete(expires, k)
					}
				}
			}
			want := 0
			for _, e := range expires {
				if now.Before(e) {
					want++
				}
			}
			if got := len(s.List(now, "svc")); got != want {
				t.Fatalf("listed %d, model says %d", got, want)
			}
		}
	})
}

func TestServerAndClient(t *testing.T) {
	now := t0
	srv := NewServer(NewStore(0))
	srv.Now = func() time.Time { return now }
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := &Client{BaseURL: hs.URL, HTTP: hs.Client()}
	ctx := context.Background()

	got, err := c.Register(ctx, "risk", Instance{Endpoint: Endpoint{ID: "r0", Address: "127.0.0.1:7001", Zone: "a"}, TTL: 5 * time.Second})
	if err != nil || got.TTL != 5*time.Second || !got.Expires.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("register: %+v %v", got, err)
	}
	now = now.Add(4 * time.Second)
	if err := c.Heartbeat(ctx, "risk", "r0"); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	now = now.Add(4 * time.Second)
	list, err := c.List(ctx, "risk")
	if err != nil || len(list) != 1 || list[0].Zone != "a" {
		t.Fatalf("list: %v %v", list, err)
	}
	p := &Registry{Client: c, Service: "risk"}
	eps, err := p.Resolve(ctx)
	if err != nil || len(eps) != 1 || eps[0].ID != "r0" {
		t.Fatalf("provider: %v %v", eps, err)
	}
	now = now.Add(10 * time.Second)
	if err := c.Heartbeat(ctx, "risk", "r0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("heartbeat after expiry: %v", err)
	}
	if err := c.Deregister(ctx, "risk", "r0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deregister after expiry: %v", err)
	}

	bad := []struct{ name, body string }{
		{"unknown field", `{"address":"127.0.0.1:1","colour":"red"}`},
		{"bad address", `{"address":"nowhere"}`},
		{"bad ttl", `{"address":"127.0.0.1:1","ttl":"soon"}`},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			resp, err := hs.Client().Post(hs.URL+"/v1/services/x/instances", "application/json", strings.NewReader(b.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
}

func TestRegistryWatch(t *testing.T) {
	store := NewStore(time.Hour)
	hs := httptest.NewServer(NewServer(store))
	defer hs.Close()
	p := &Registry{Client: &Client{BaseURL: hs.URL, HTTP: hs.Client()}, Service: "pay", Interval: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	pushes := make(chan []Endpoint, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Watch(ctx, func(e []Endpoint) { pushes <- e })
	}()
	defer func() { cancel(); <-done }()
	if e := <-pushes; len(e) != 0 {
		t.Fatalf("first push %v", e)
	}
	if _, err := store.Register(time.Now(), "pay", Instance{Endpoint: Endpoint{Address: "127.0.0.1:9"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-pushes:
		if len(e) != 1 {
			t.Fatalf("push %v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("registration not pushed within 10s")
	}
}
