package proxy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/config"
)

// authMiddleware is proxy/auth's middleware as proxy/secure registers it
// (without the reason tagging, which only touches answers the middleware
// gives itself, and those the general path gives).
func authMiddleware(route string, params map[string]any) (Middleware, error) {
	var p auth.Params
	if err := DecodeParams(params, &p); err != nil {
		return nil, err
	}
	mw, err := auth.Build(route, p, auth.Env{})
	if err != nil {
		return nil, err
	}
	return mw, nil
}

// markMiddleware adds a field to the request: not a HeadChecker.
func markMiddleware(string, map[string]any) (Middleware, error) {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set("X-Marked", "1")
			next.ServeHTTP(w, r)
		})
	}, nil
}

// TestFastPathMiddlewaresMatchGeneralPath sends the same requests through
// a proxy with the fast path and one without to routes guarded by API-key
// authentication (a HeadChecker) and a consumer rate limit, and requires
// the same answers, the same upstream requests (the key removed unless the
// route forwards it) and the same rate-limit decisions; the fast path must
// serve exactly the requests the middleware admits, and no route with a
// middleware that is not a HeadChecker.
func TestFastPathMiddlewaresMatchGeneralPath(t *testing.T) {
	const key, other = "k-0123456789", "k-other"
	keys := []any{map[string]any{"name": "acme", "hash": auth.HashAPIKey(key), "scopes": []any{"read"}},
		map[string]any{"name": "globex", "hash": auth.HashAPIKey(other)}}
	authParams := func(extra map[string]any) config.MiddlewareConfig {
		p := map[string]any{"type": "apiKey", "keys": keys}
		for k, v := range extra {
			p[k] = v
		}
		return config.MiddlewareConfig{Name: "auth", Params: p}
	}
	upFast, upSlow := startScriptedUpstream(t), startScriptedUpstream(t)
	cfgFor := func(up string) config.Config {
		return config.Config{
			Clusters: []config.ClusterConfig{{Name: "up", Endpoints: eps(up)}},
			Routes: []config.RouteConfig{
				{Name: "keyed", Match: config.MatchConfig{Prefix: "/keyed/"}, Cluster: "up", Policy: config.Policy{
					Middlewares: []config.MiddlewareConfig{authParams(nil)}}},
				{Name: "forward", Match: config.MatchConfig{Prefix: "/forward/"}, Cluster: "up", Policy: config.Policy{
					Middlewares: []config.MiddlewareConfig{authParams(map[string]any{"forward": true})},
					ConsumerRateLimit: &config.ConsumerRateLimitConfig{Key: "header:X-Api-Key",
						RateLimitConfig: config.RateLimitConfig{Type: "token_bucket", Rate: 0.001, Burst: 2}}}},
				{Name: "stripped", Match: config.MatchConfig{Prefix: "/stripped/"}, Cluster: "up", Policy: config.Policy{
					Middlewares: []config.MiddlewareConfig{authParams(nil)},
					ConsumerRateLimit: &config.ConsumerRateLimitConfig{Key: "header:X-Api-Key",
						RateLimitConfig: config.RateLimitConfig{Type: "token_bucket", Rate: 0.001, Burst: 2}}}},
				{Name: "scoped", Match: config.MatchConfig{Prefix: "/scoped/"}, Cluster: "up", Policy: config.Policy{
					Middlewares: []config.MiddlewareConfig{authParams(map[string]any{"scopes": []any{"read"}})}}},
				{Name: "twice", Match: config.MatchConfig{Prefix: "/twice/"}, Cluster: "up", Policy: config.Policy{
					Middlewares: []config.MiddlewareConfig{authParams(map[string]any{"forward": true}), authParams(nil)}}},
				{Name: "marked", Match: config.MatchConfig{Prefix: "/marked/"}, Cluster: "up", Policy: config.Policy{
					Middlewares: []config.MiddlewareConfig{authParams(nil), {Name: "mark"}}}},
				{Name: "all", Match: config.MatchConfig{Prefix: "/"}, Cluster: "up"},
			},
		}
	}
	opts := []Option{WithMiddleware("auth", authMiddleware), WithMiddleware("mark", markMiddleware)}
	fast := serveProxy(t, cfgFor(upFast.addr()), opts...)
	slow := serveProxy(t, cfgFor(upSlow.addr()), append(opts, withoutFastPath())...)

	get := func(target string, fields ...string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: shop.test\r\n" + strings.Join(fields, "") + "\r\n"
	}
	withKey := "X-Api-Key: " + key + "\r\n"
	cases := []struct {
		name   string
		req    string
		status int
		fast   bool
	}{
		{"key", get("/keyed/a", withKey, "Accept: */*\r\n"), 200, true},
		{"key, lower-case field", get("/keyed/a", "x-api-key: "+key+"\r\n"), 200, true},
		{"key with a body", "POST /keyed/a HTTP/1.1\r\nHost: shop.test\r\n" + withKey + "Content-Length: 2\r\n\r\nhi", 200, true},
		{"no key", get("/keyed/a"), 401, false},
		{"unknown key", get("/keyed/a", "X-Api-Key: nope\r\n"), 401, false},
		{"empty key", get("/keyed/a", "X-Api-Key: \r\n"), 401, false},
		{"two keys", get("/keyed/a", withKey, withKey), 401, false},
		{"scope held", get("/scoped/a", withKey), 200, true},
		{"scope lacking", get("/scoped/a", "X-Api-Key: "+other+"\r\n"), 403, false},
		{"forwarded key", get("/forward/a", withKey), 200, true},
		{"forwarded key, limit", get("/forward/a", withKey), 200, true},
		{"forwarded key, limited", get("/forward/a", withKey), 429, true},
		{"forwarded other key, own limit", get("/forward/a", "X-Api-Key: "+other+"\r\n"), 200, true},
		// Without forward the key is gone before the route's consumer
		// limit reads it, on both paths: every request is anonymous.
		{"stripped key", get("/stripped/a", withKey), 200, true},
		{"stripped other key", get("/stripped/a", "X-Api-Key: "+other+"\r\n"), 200, true},
		{"stripped key, anonymous limited", get("/stripped/a", withKey), 429, true},
		// The second middleware reads what the first left: nothing.
		{"second check sees the first's strip", get("/twice/a", withKey), 200, true},
		{"not a HeadChecker", get("/marked/a", withKey), 200, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, up := range []*scriptedUpstream{upFast, upSlow} {
				up.setAnswer(func(string) string { return plainOK })
			}
			before := fast.fastServed()
			gotFast := sendRaw(t, fast.addr, tc.req, http.MethodGet, true)
			gotSlow := sendRaw(t, slow.addr, tc.req, http.MethodGet, true)
			served := fast.fastServed() - before
			if gotFast.open {
				served-- // "/again", which the fast path takes
			}
			if (served > 0) != tc.fast {
				t.Errorf("fast path served %v requests, want fast=%v", served, tc.fast)
			}
			if gotFast.status != tc.status {
				t.Errorf("status %d, want %d", gotFast.status, tc.status)
			}
			if a, b := normalAnswer(gotFast), normalAnswer(gotSlow); a != b {
				t.Errorf("answers differ\nfast path:\n%s\ngeneral path:\n%s", a, b)
			}
			if tc.status != 200 {
				return
			}
			reqFast, reqSlow := lastBut(upFast, "GET /again "), lastBut(upSlow, "GET /again ")
			if a, b := normalRequest(t, reqFast), normalRequest(t, reqSlow); a != b {
				t.Errorf("upstream requests differ\nfast path:\n%s\ngeneral path:\n%s", a, b)
			}
			forwarded := strings.HasPrefix(tc.req[strings.Index(tc.req, " ")+1:], "/forward/")
			if has := strings.Contains(strings.ToLower(reqFast), "x-api-key:"); has != forwarded {
				t.Errorf("upstream got the key: %v, want %v\n%s", has, forwarded, reqFast)
			}
		})
	}
}

// TestHeadCheckersBuilt checks which routes the fast path may take: those
// whose every middleware is a HeadChecker.
func TestHeadCheckersBuilt(t *testing.T) {
	mw := func(names ...string) config.Policy {
		var p config.Policy
		for _, n := range names {
			mc := config.MiddlewareConfig{Name: n}
			if n == "auth" {
				mc.Params = map[string]any{"type": "apiKey"}
			}
			p.Middlewares = append(p.Middlewares, mc)
		}
		return p
	}
	cfg := config.Config{
		Clusters: []config.ClusterConfig{{Name: "up", Endpoints: eps("127.0.0.1:1")}},
		Routes: []config.RouteConfig{
			{Name: "none", Cluster: "up"},
			{Name: "auth", Cluster: "up", Policy: mw("auth")},
			{Name: "auth-auth", Cluster: "up", Policy: mw("auth", "auth")},
			{Name: "auth-mark", Cluster: "up", Policy: mw("auth", "mark")},
			{Name: "mark-auth", Cluster: "up", Policy: mw("mark", "auth")},
		},
	}
	p, err := New(cfg, quiet(t), WithMiddleware("auth", authMiddleware), WithMiddleware("mark", markMiddleware))
	if err != nil {
		t.Fatal(err)
	}
	snap := p.acquire()
	defer snap.release()
	want := map[string]int{"none": 0, "auth": 1, "auth-auth": 2, "auth-mark": -1, "mark-auth": -1}
	for _, rt := range snap.routes {
		n := len(rt.checks)
		if rt.checks == nil && rt.handler != nil {
			n = -1
		}
		if n != want[rt.name] || rt.fast != (n >= 0) {
			t.Errorf("route %s: %d checks (-1: not all), fast %v; want %d", rt.name, n, rt.fast, want[rt.name])
		}
	}
}

// lastBut is the last request the upstream got that does not start with
// prefix.
func lastBut(u *scriptedUpstream, prefix string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := len(u.got) - 1; i >= 0; i-- {
		if !strings.HasPrefix(u.got[i], prefix) {
			return u.got[i]
		}
	}
	return ""
}
