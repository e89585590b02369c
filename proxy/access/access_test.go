package access

import (
	"net/netip"
	"testing"
)

func TestACL(t *testing.T) {
	groups := map[string][]string{"gold": {"a", "b"}, "blocked": {"b", "c"}, "silver": {"d"}}
	for _, tc := range []struct {
		name        string
		allow, deny []string
		consumer    string
		ok          bool
	}{
		{"allowed group", []string{"gold"}, nil, "a", true},
		{"not in the allow list", []string{"gold"}, nil, "d", false},
		{"deny wins over allow", []string{"gold"}, []string{"blocked"}, "b", false},
		{"deny only: others pass", nil, []string{"blocked"}, "d", true},
		{"deny only: denied", nil, []string{"blocked"}, "c", false},
		{"no consumer under an allow list", []string{"gold"}, nil, "", false},
		{"no consumer under a deny list", nil, []string{"blocked"}, "", true},
		{"unknown consumer under an allow list", []string{"gold", "silver"}, nil, "zz", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewACL(ACLConfig{Allow: tc.allow, Deny: tc.deny, Groups: groups})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Check(tc.consumer); (err == nil) != tc.ok {
				t.Errorf("Check(%q) = %v, want ok %v", tc.consumer, err, tc.ok)
			}
		})
	}
	if _, err := NewACL(ACLConfig{Groups: groups}); err == nil {
		t.Error("an ACL with neither allow nor deny built")
	}
}

func TestIPRestriction(t *testing.T) {
	for _, tc := range []struct {
		name        string
		allow, deny []string
		addr        string
		ok          bool
	}{
		{"in the allowed range", []string{"127.1.0.0/16"}, nil, "127.1.2.3", true},
		{"outside the allowed range", []string{"127.1.0.0/16"}, nil, "127.0.0.1", false},
		{"deny wins over allow", []string{"127.1.0.0/16"}, []string{"127.1.0.5"}, "127.1.0.5", false},
		{"deny only", nil, []string{"127.1.0.0/24"}, "127.1.1.1", true},
		{"deny only, denied", nil, []string{"127.1.0.0/24"}, "127.1.0.200", false},
		{"IPv4-mapped address", []string{"127.1.0.0/16"}, nil, "::ffff:127.1.0.9", true},
		{"IPv6 range", []string{"::1/128"}, nil, "::1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewIPRestriction(IPRestrictionConfig{Allow: tc.allow, Deny: tc.deny})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Check(netip.MustParseAddr(tc.addr)); (err == nil) != tc.ok {
				t.Errorf("Check(%s) = %v, want ok %v", tc.addr, err, tc.ok)
			}
		})
	}
	if _, err := NewIPRestriction(IPRestrictionConfig{Allow: []string{"127.1.0.0/33"}}); err == nil {
		t.Error("a bad CIDR accepted")
	}
	if _, err := NewIPRestriction(IPRestrictionConfig{Deny: []string{"example.com"}}); err == nil {
		t.Error("a host name accepted")
	}
	// An invalid address matches no range.
	r, _ := NewIPRestriction(IPRestrictionConfig{Allow: []string{"0.0.0.0/0"}})
	if r.Check(netip.Addr{}) == nil {
		t.Error("an unknown address passed an allow list")
	}
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "10.0.0.0/8", "::1/128", "::ffff:10.0.0.0/104", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrefix(s)
		if err == nil && !p.IsValid() {
			t.Errorf("%q parsed to an invalid prefix", s)
		}
	})
}
