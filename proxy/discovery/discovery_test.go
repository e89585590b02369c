package discovery

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestNormalize(t *testing.T) {
	got := Normalize([]Endpoint{{Address: "b:1"}, {Address: "a:1", Weight: 3}, {ID: "b:1", Address: "c:1"}})
	want := []Endpoint{{ID: "a:1", Address: "a:1", Weight: 3}, {ID: "b:1", Address: "b:1", Weight: 1}}
	if !Equal(got, want) {
		t.Errorf("Normalize = %v, want %v", got, want)
	}
}

func TestStatic(t *testing.T) {
	tests := []struct {
		name    string
		eps     Static
		wantErr bool
	}{
		{name: "valid", eps: Static{{Address: "127.0.0.1:80"}, {Address: "[::1]:81", Zone: "a"}}},
		{name: "no port", eps: Static{{Address: "127.0.0.1"}}, wantErr: true},
		{name: "port zero", eps: Static{{Address: "127.0.0.1:0"}}, wantErr: true},
		{name: "negative weight", eps: Static{{Address: "127.0.0.1:80", Weight: -1}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.eps.Resolve(context.Background())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if err == nil && len(got) != len(tc.eps) {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestFileWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eps.yaml")
	write := func(content string) {
		t.Helper()
		// Write a temp file and rename it over: the atomic-update idiom.
		tmp := filepath.Join(dir, "tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("- address: 127.0.0.1:1\n")
	f := &File{Path: path}
	got, err := f.Resolve(context.Background())
	if err != nil || len(got) != 1 {
		t.Fatalf("Resolve = %v, %v", got, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pushes := make(chan []Endpoint, 16)
	done := make(chan error)
	go func() { done <- f.Watch(ctx, func(e []Endpoint) { pushes <- e }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	next := func() []Endpoint {
		t.Helper()
		select {
		case e := <-pushes:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no push within 10s")
			return nil
		}
	}
	if first := next(); len(first) != 1 {
		t.Fatalf("first push %v", first)
	}
	write("- address: 127.0.0.1:1\n- {address: 127.0.0.1:2, zone: b}\n")
	if e := next(); len(e) != 2 || e[1].Zone != "b" {
		t.Fatalf("after the change %v", e)
	}
	write("- address: [broken\n") // kept: the last good set stays
	write("[]\n")
	if e := next(); len(e) != 0 {
		t.Fatalf("after emptying %v", e)
	}
}

func TestParseEndpointsStrict(t *testing.T) {
	_, err := ParseEndpoints("eps.yaml", []byte("- address: 127.0.0.1:1\n  colour: red\n"))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown key accepted: %v", err)
	}
}

type fakeResolver struct {
	hosts map[string][]string
	srv   map[string][]*net.SRV
	err   error
}

func (f *fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if f.err != nil {
		return nil, f.err
	}
	if a, ok := f.hosts[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (f *fakeResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	if f.err != nil {
		return "", nil, f.err
	}
	key := "_" + service + "._" + proto + "." + name
	if s, ok := f.srv[key]; ok {
		return key, s, nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: key, IsNotFound: true}
}

func TestDNS(t *testing.T) {
	r := &fakeResolver{
		hosts: map[string][]string{"payments.svc": {"127.0.0.2", "127.0.0.1"}},
		srv:   map[string][]*net.SRV{"_http._tcp.risk.svc": {{Target: "risk-0.svc.", Port: 8080, Weight: 3}, {Target: "risk-1.svc.", Port: 8081}}},
	}
	tests := []struct {
		name    string
		d       *DNS
		want    []string
		wantErr bool
	}{
		{name: "A records", d: &DNS{Resolver: r, Host: "payments.svc", Port: 80}, want: []string{"127.0.0.1:80", "127.0.0.2:80"}},
		{name: "SRV records", d: &DNS{Resolver: r, Host: "risk.svc", SRV: true, Service: "http", Proto: "tcp"}, want: []string{"risk-0.svc:8080", "risk-1.svc:8081"}},
		{name: "no such name", d: &DNS{Resolver: r, Host: "gone.svc", Port: 80}, want: []string{}},
		{name: "no port", d: &DNS{Resolver: r, Host: "payments.svc"}, wantErr: true},
		{name: "server failure", d: &DNS{Resolver: &fakeResolver{err: errors.New("SERVFAIL")}, Host: "x", Port: 1}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.d.Resolve(context.Background())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i, e := range got {
				if e.Address != tc.want[i] {
					t.Errorf("[%d] = %s, want %s", i, e.Address, tc.want[i])
				}
			}
		})
	}
	if got, _ := tests[1].d.Resolve(context.Background()); got[0].Weight != 3 {
		t.Errorf("SRV weight %d, want 3", got[0].Weight)
	}
}
