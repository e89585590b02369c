package consumer

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"pgregory.net/rapid"

	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/scenarios"
)

func workload(name string, c scenarios.Consumers) scenarios.Workload {
	return scenarios.Workload{Name: name, Consumers: &c}
}

// TestPickShares: over many requests each consumer's share and each bad
// kind's share come out as configured, for uniform, zipf and explicit
// shares.
func TestPickShares(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    scenarios.Consumers
	}{
		{"uniform", scenarios.Consumers{Count: 10, Identity: scenarios.IdentityJWT}},
		{"zipf", scenarios.Consumers{Count: 20, Identity: scenarios.IdentityJWT, Skew: &scenarios.Skew{Type: scenarios.SkewZipf, S: 1.2}}},
		{"one noisy", scenarios.Consumers{Count: 5, Identity: scenarios.IdentityAPIKey, Shares: []scenarios.Fraction{0.6}}},
		{"bad credentials", scenarios.Consumers{Count: 3, Identity: scenarios.IdentityJWT,
			BadCredentials: &scenarios.BadCredentials{Expired: 0.05, WrongAudience: 0.1, Unsigned: 0.15, UnknownKey: 0.2, Missing: 0.01}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := workload("w", tc.c)
			s := ForPlan([]scenarios.Workload{w}, 42)[0]
			want := Weights(w.Consumers)
			kinds, shares := w.Consumers.BadCredentials.Kinds()
			const n = 200000
			got := make([]float64, s.Count())
			bad := map[string]float64{}
			for i := range uint64(n) {
				p := s.Pick(i)
				got[p.Consumer]++
				if p.Bad != "" {
					bad[p.Bad]++
				}
			}
			for i := range got {
				if g := got[i] / n; math.Abs(g-want[i]) > 0.006 {
					t.Errorf("consumer %d: share %.4f, want %.4f", i, g, want[i])
				}
			}
			for i, k := range kinds {
				if g := bad[k] / n; math.Abs(g-shares[i]) > 0.005 {
					t.Errorf("bad %s: share %.4f, want %.4f", k, g, shares[i])
				}
			}
			if len(bad) != len(kinds) {
				t.Errorf("bad kinds drawn %v, want %v", bad, kinds)
			}
		})
	}
}

func TestWeights(t *testing.T) {
	w := Weights(&scenarios.Consumers{Count: 3, Shares: []scenarios.Fraction{0.6}})
	if math.Abs(w[0]-0.6) > 1e-9 || math.Abs(w[1]-0.2) > 1e-9 || math.Abs(w[2]-0.2) > 1e-9 {
		t.Errorf("shares [60%%] of 3: %v", w)
	}
	z := Weights(&scenarios.Consumers{Count: 2, Skew: &scenarios.Skew{Type: scenarios.SkewZipf, S: 1}})
	if math.Abs(z[0]-2.0/3) > 1e-9 {
		t.Errorf("zipf s=1 of 2: %v", z)
	}
}

// TestPickDeterministic: the same seed gives the same sequence (what lets
// sim and local send the same consumers), another seed or workload
// another one.
func TestPickDeterministic(t *testing.T) {
	load := []scenarios.Workload{
		workload("a", scenarios.Consumers{Count: 50, Identity: scenarios.IdentitySourceIP}),
		workload("b", scenarios.Consumers{Count: 50, Identity: scenarios.IdentitySourceIP}),
	}
	s1, s2, s3 := ForPlan(load, 7), ForPlan(load, 7), ForPlan(load, 8)
	same, otherSeed, otherLoad := 0, 0, 0
	for n := range uint64(1000) {
		if s1[0].Pick(n) == s2[0].Pick(n) {
			same++
		}
		if s1[0].Pick(n) == s3[0].Pick(n) {
			otherSeed++
		}
		if s1[0].Pick(n) == s1[1].Pick(n) {
			otherLoad++
		}
	}
	if same != 1000 || otherSeed > 100 || otherLoad > 100 {
		t.Errorf("same seed %d/1000 equal, other seed %d, other workload %d", same, otherSeed, otherLoad)
	}
}

// TestIdentities: names, keys and source addresses are distinct across the
// plan's workloads, and keys are stored hashed.
func TestIdentities(t *testing.T) {
	load := []scenarios.Workload{
		workload("quiet", scenarios.Consumers{Count: 300, Identity: scenarios.IdentityAPIKey}),
		{Name: "plain"},
		workload("noisy", scenarios.Consumers{Count: 1, Identity: scenarios.IdentityAPIKey}),
	}
	sets := ForPlan(load, 1)
	if sets[1] != nil {
		t.Fatal("a workload without consumers has a set")
	}
	seen := map[string]bool{}
	for _, s := range []*Set{sets[0], sets[2]} {
		for i := range s.Count() {
			for _, v := range []string{s.Name(i), s.APIKey(i), s.Source(i).String()} {
				if seen[v] {
					t.Fatalf("%q repeated", v)
				}
				seen[v] = true
			}
			if !s.Source(i).IsLoopback() {
				t.Fatalf("source %s not on loopback", s.Source(i))
			}
		}
	}
	if got := sets[0].Source(255).String(); got != "127.1.1.0" {
		t.Errorf("source of quiet-255 = %s, want 127.1.1.0", got)
	}
	if got := sets[2].Source(0).String(); got != "127.1.1.45" {
		t.Errorf("source of noisy-0 = %s, want 127.1.1.45 (after quiet's 300)", got)
	}
	k := sets[2].Keys()[0]
	if k.Name != "noisy-0" || k.Hash != auth.HashAPIKey(sets[2].APIKey(0)) {
		t.Errorf("stored key %+v", k)
	}
}

// TestIssuerTokens: the run's issuer is the same for a seed, and proxy/auth
// verifying against its JWKS with the route's issuer and audience accepts
// a good token and refuses each bad kind for its own reason.
func TestIssuerTokens(t *testing.T) {
	is, err := NewIssuer(5)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := NewIssuer(5)
	j1, _ := is.JWKS()
	j2, _ := again.JWKS()
	other, _ := NewIssuer(6)
	j3, _ := other.JWKS()
	if string(j1) != string(j2) || string(j1) == string(j3) {
		t.Fatal("the issuer's key is not a function of the seed")
	}
	keys, err := auth.ParseJWKS(j1)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v, err := auth.NewJWT(auth.JWTConfig{Issuer: "https://iss", Audiences: []string{"payments"}, Keys: keys, Clock: func() time.Time { return now.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bad  string
		want error // nil: accepted
	}{
		{scenarios.BadNone, nil},
		{scenarios.BadExpired, jwt.ErrTokenExpired},
		{scenarios.BadWrongAudience, jwt.ErrTokenInvalidAudience},
		{scenarios.BadUnsigned, jwt.ErrTokenSignatureInvalid},
		{scenarios.BadUnknownKey, auth.ErrUnknownKey},
	} {
		t.Run("bad="+tc.bad, func(t *testing.T) {
			tok, err := is.Token("w-3", "https://iss", "payments", tc.bad, now)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			c, err := v.Authenticate(r)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == nil && c.ID != "w-3":
				t.Fatalf("consumer %q, want w-3", c.ID)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	if tok, _ := is.Token("w", "i", "a", scenarios.BadMissing, now); tok != "" {
		t.Errorf("a missing credential has token %q", tok)
	}
}

// TestGatewayKeys: an apiKey route holds its listed keys and the keys of
// the apiKey consumers that reach it; a route with neither holds none.
func TestGatewayKeys(t *testing.T) {
	topo := scenarios.Topology{Gateway: scenarios.Gateway{Routes: []scenarios.Route{
		{Name: "keyed", Match: scenarios.Match{PathPrefix: "/k"}, Auth: &scenarios.Auth{Type: scenarios.AuthAPIKey, Header: "X-API-Key", Keys: []string{"k1", "k1"}}},
		{Name: "any", Match: scenarios.Match{PathPrefix: "/a"}, Auth: &scenarios.Auth{Type: scenarios.AuthAPIKey, Header: "X-API-Key"}},
	}}}
	load := []scenarios.Workload{workload("c", scenarios.Consumers{Count: 2, Identity: scenarios.IdentityAPIKey})}
	load[0].Target.Path = "/k/x"
	got := GatewayKeys(&topo, load, ForPlan(load, 1))
	if len(got["keyed"]) != 3 || got["keyed"][0].Name != KeyName("k1") || got["keyed"][2].Name != "c-1" {
		t.Errorf("keyed holds %+v", got["keyed"])
	}
	if _, ok := got["any"]; ok {
		t.Errorf("route any holds %+v", got["any"])
	}
}

// TestPickProperties: whatever the shares, every pick names a consumer in
// range whose weight is not zero, and a bad kind only when some are set.
func TestPickProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		count := rapid.IntRange(1, 40).Draw(t, "count")
		c := scenarios.Consumers{Count: count, Identity: scenarios.IdentityJWT}
		switch rapid.IntRange(0, 2).Draw(t, "mode") {
		case 1:
			c.Skew = &scenarios.Skew{Type: scenarios.SkewZipf, S: rapid.Float64Range(0.01, 4).Draw(t, "s")}
		case 2:
			n := rapid.IntRange(1, count).Draw(t, "shares")
			left := 1.0
			for range n {
				f := rapid.Float64Range(0, left).Draw(t, "share")
				c.Shares = append(c.Shares, scenarios.Fraction(f))
				left -= f
			}
			if n == count {
				c.Shares[n-1] += scenarios.Fraction(left)
			}
		}
		if rapid.Bool().Draw(t, "bad") {
			c.BadCredentials = &scenarios.BadCredentials{Expired: scenarios.Fraction(rapid.Float64Range(0, 0.5).Draw(t, "expired"))}
		}
		w := workload("w", c)
		s := ForPlan([]scenarios.Workload{w}, rapid.Uint64().Draw(t, "seed"))[0]
		weights := Weights(&c)
		for n := range uint64(200) {
			p := s.Pick(n)
			if p.Consumer < 0 || p.Consumer >= count {
				t.Fatalf("consumer %d of %d", p.Consumer, count)
			}
			if weights[p.Consumer] == 0 && slices.ContainsFunc(weights, func(x float64) bool { return x > 0 }) {
				t.Fatalf("consumer %d has weight 0 (weights %v)", p.Consumer, weights)
			}
			if p.Bad != "" && (c.BadCredentials == nil || c.BadCredentials.Expired == 0) {
				t.Fatalf("bad %q with none set", p.Bad)
			}
		}
	})
}
