package httpkey

import (
	"net/http"
	"testing"

	"github.com/meshbench/meshbench/proxy/balancer"
)

func TestHashKey(t *testing.T) {
	req := func(remote string, header map[string]string, cookie string) *http.Request {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		for k, v := range header {
			r.Header.Set(k, v)
		}
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		return r
	}
	user := balancer.HashKeyString("alice")
	tests := []struct {
		name   string
		key    balancer.HashKey
		req    *http.Request
		want   uint64
		wantOK bool
	}{
		{"header", balancer.HashKey{Header: "X-User"}, req("", map[string]string{"x-user": "alice"}, ""), user, true},
		{"missing header", balancer.HashKey{Header: "X-User"}, req("10.0.0.1:5", nil, ""), 0, false},
		{"cookie", balancer.HashKey{Cookie: "sid"}, req("", nil, "a=b; sid=alice"), user, true},
		{"header before cookie", balancer.HashKey{Header: "X-User", Cookie: "sid"}, req("", map[string]string{"X-User": "alice"}, "sid=bob"), user, true},
		{"cookie when header missing", balancer.HashKey{Header: "X-User", Cookie: "sid"}, req("", nil, "sid=alice"), user, true},
		{"nothing configured", balancer.HashKey{}, req("10.0.0.1:5", map[string]string{"X-User": "alice"}, ""), 0, false},
		{"bad remote address", balancer.HashKey{SourceIP: true}, req("not an address", nil, ""), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Key(tt.key, tt.req.Header, tt.req.RemoteAddr)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("Key = %x, %v; want %x, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestHashKeySourceIP(t *testing.T) {
	k := balancer.HashKey{SourceIP: true}
	key := func(remote string) uint64 {
		t.Helper()
		v, ok := Key(k, http.Header{}, remote)
		if !ok {
			t.Fatalf("no key for %q", remote)
		}
		return v
	}
	v4 := key("192.0.2.7:443")
	if key("192.0.2.7:1234") != v4 {
		t.Error("the port changed the key")
	}
	if key("192.0.2.7") != v4 {
		t.Error("a bare address hashes differently")
	}
	if key("[::ffff:192.0.2.7]:443") != v4 {
		t.Error("an IPv4-mapped IPv6 address hashes differently")
	}
	if key("192.0.2.8:443") == v4 {
		t.Error("neighbouring addresses collide")
	}
	if key("[2001:db8::1%eth0]:80") != key("[2001:db8::1]:80") {
		t.Error("the IPv6 zone changed the key")
	}
}

func TestCookie(t *testing.T) {
	for _, tc := range []struct {
		field, name, want string
		ok                bool
	}{
		{"a=b; sid=alice", "sid", "alice", true},
		{"sid=alice", "sid", "alice", true},
		{`sid="alice"`, "sid", "alice", true},
		{"a=b;sid=alice ;c=d", "sid", "alice", true},
		{"a=b", "sid", "", false},
		{"sidx=alice; xsid=bob", "sid", "", false},
		{"", "sid", "", false},
		{"sid=", "sid", "", true},
	} {
		got, ok := Cookie(tc.field, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Cookie(%q, %q) = %q, %v; want %q, %v", tc.field, tc.name, got, ok, tc.want, tc.ok)
		}
		// The same as net/http reads it.
		r := &http.Request{Header: http.Header{"Cookie": {tc.field}}}
		c, err := r.Cookie(tc.name)
		if (err == nil) != tc.ok || err == nil && c.Value != tc.want {
			t.Errorf("net/http reads %q for %q as %v, %v", tc.field, tc.name, c, err)
		}
	}
}
