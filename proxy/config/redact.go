package config

import (
	"net/url"
	"slices"
	"strings"
)

// Redacted is what Config.Redacted writes in place of a secret (URL-safe,
// so that it reads the same inside a URL).
const Redacted = "REDACTED"

// Redacted returns a copy of c with its secrets replaced by Redacted, for
// the admin /config view; c is not modified. The secrets are:
//
//   - adminAccess.tokens[].sha256 (a digest of a short token can be
//     guessed);
//   - the values a route matches on a secret header (routes[].match.headers[]
//     whose name secretName or secretHeader calls secret);
//   - the password and query values of clusters[].discovery.url;
//   - in every middleware's params (routes, sidecar.outbound,
//     sidecar.inbound), every string under a key that secretName calls
//     secret (auth's apiKey keys and their hashes, any *secret*, *token*,
//     *password*, *key), the values beside a secret header name (fault's
//     match: {name: Authorization, value: ...}), and the password and
//     query values of every string that is a URL with them.
//
// File paths (token files, key files, JWKS files) are kept: they say where
// a secret is, not what it is.
func (c Config) Redacted() Config {
	c.AdminAccess.Tokens = slices.Clone(c.AdminAccess.Tokens)
	for i := range c.AdminAccess.Tokens {
		if t := &c.AdminAccess.Tokens[i]; t.SHA256 != "" {
			t.SHA256 = Redacted
		}
	}
	c.Routes = slices.Clone(c.Routes)
	for i := range c.Routes {
		r := &c.Routes[i]
		r.Match.Headers = slices.Clone(r.Match.Headers)
		for j := range r.Match.Headers {
			h := &r.Match.Headers[j]
			if secretHeader(h.Name) {
				h.Exact, h.Prefix, h.Regex = redactSet(h.Exact), redactSet(h.Prefix), redactSet(h.Regex)
			}
		}
		r.Policy = r.Policy.redacted()
	}
	c.Sidecar.Outbound = slices.Clone(c.Sidecar.Outbound)
	for i := range c.Sidecar.Outbound {
		c.Sidecar.Outbound[i].Policy = c.Sidecar.Outbound[i].Policy.redacted()
	}
	c.Sidecar.Inbound.Policy = c.Sidecar.Inbound.Policy.redacted()
	c.Clusters = slices.Clone(c.Clusters)
	for i := range c.Clusters {
		if d := c.Clusters[i].Discovery; d != nil && d.URL != "" {
			dc := *d
			dc.URL = redactURL(dc.URL)
			c.Clusters[i].Discovery = &dc
		}
	}
	return c
}

func (p Policy) redacted() Policy {
	p.Middlewares = slices.Clone(p.Middlewares)
	for i := range p.Middlewares {
		if m := &p.Middlewares[i]; m.Params != nil {
			m.Params = redactValue(m.Params, false).(map[string]any)
		}
	}
	return p
}

// redactValue returns a copy of a params value (as YAML decodes it: maps,
// lists, scalars) with its secrets redacted; secret says that v is under a
// secret key, so that every string in it is.
func redactValue(v any, secret bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		header, _ := v["name"].(string)
		beside := secretHeader(header)
		for k, e := range v {
			out[k] = redactValue(e, secret || secretName(k) || beside && k != "name")
		}
		return out
	case map[any]any:
		out := make(map[any]any, len(v))
		header, _ := v["name"].(string)
		beside := secretHeader(header)
		for k, e := range v {
			ks, _ := k.(string)
			out[k] = redactValue(e, secret || secretName(ks) || beside && ks != "name")
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = redactValue(e, secret)
		}
		return out
	case []string:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = redactValue(e, secret).(string)
		}
		return out
	case string:
		if secret {
			return redactSet(v)
		}
		return redactURL(v)
	}
	return v
}

// secretName reports whether a configuration key names a secret: one
// that, with '-' and '_' removed and case folded, contains secret, token,
// password, passwd, credential, apikey or privatekey, or ends in key, keys
// or hash. Keys of other types than strings (maxKeys: 1000) keep their
// values: only strings are redacted.
func secretName(k string) bool {
	k = strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(k))
	for _, s := range []string{"secret", "token", "password", "passwd", "credential", "apikey", "privatekey"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return strings.HasSuffix(k, "key") || strings.HasSuffix(k, "keys") || strings.HasSuffix(k, "hash")
}

// secretHeader reports whether a header's values are secrets:
// Authorization, Proxy-Authorization, Cookie, Set-Cookie, and names
// secretName calls secret (X-Api-Key, X-Auth-Token).
func secretHeader(name string) bool {
	switch strings.ToLower(name) {
	case "":
		return false
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	return secretName(name)
}

// redactSet redacts s unless it is empty.
func redactSet(s string) string {
	if s == "" {
		return ""
	}
	return Redacted
}

// redactURL redacts the password and the query values of an absolute URL
// with a host; other strings are returned as they are.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	changed := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), Redacted)
		changed = true
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = Redacted
			}
			q[k] = vs
		}
		u.RawQuery = q.Encode()
		changed = true
	}
	if !changed {
		return s
	}
	return u.String()
}
