package config

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// secretMark is in every secret value the tests write; none may survive
// Redacted.
const secretMark = "MARK"

// secretFields are the string fields of Config that hold secrets, by
// JSON path ("[]" for every element). Params are checked separately.
var secretFields = []string{
	"adminAccess.tokens[].sha256",
	"clusters[].discovery.url", // its password and query values
	"routes[].match.headers[].exact",
	"routes[].match.headers[].prefix",
	"routes[].match.headers[].regex",
}

// publicFields are the string fields of Config that are not secrets. A new
// string field must be added here or to secretFields: the test fails until
// it is classified.
var publicFields = []string{
	"admin", "adminAccess.allowSpiffeIds[]", "adminAccess.tokens[].file", "adminAccess.tokens[].name",
	"clusters[].balancer.type", "clusters[].concurrency.type", "clusters[].discovery.host", "clusters[].discovery.path",
	"clusters[].discovery.proto", "clusters[].discovery.service", "clusters[].discovery.type", "clusters[].discovery.zone",
	"clusters[].balancer.locality.localZone",
	"clusters[].endpoints[].address", "clusters[].endpoints[].id", "clusters[].endpoints[].zone",
	"clusters[].healthCheck.expectedStatuses[]", "clusters[].healthCheck.path", "clusters[].healthCheck.service", "clusters[].healthCheck.type", "clusters[].name", "clusters[].protocol",
	"tls.alpn[]", "tls.certificates[].certFile", "tls.certificates[].keyFile", "tls.certificates[].ocspStapleFile",
	"tls.certificates[].serverNames[]", "tls.cipherSuites[]", "tls.clientAuth", "tls.clientCAFile", "tls.minVersion",
	"consumerRateLimit.key", "consumerRateLimit.type", "listen", "mode", "rateLimit.type",
	"routes[].cluster", "routes[].consumerRateLimit.key", "routes[].consumerRateLimit.type",
	"routes[].hashKey.cookie", "routes[].hashKey.header", "routes[].match.headers[].name", "routes[].match.host",
	"routes[].match.methods[]", "routes[].match.path", "routes[].match.prefix", "routes[].match.regex",
	"routes[].middlewares[].name", "routes[].name", "routes[].pathNormalization.escapedSlashes", "routes[].rateLimit.type", "routes[].rateLimits[].type",
	"routes[].retry.retryOn[]", "routes[].rewrite.host", "routes[].rewrite.path", "routes[].rewrite.prefix",
	"routes[].rewrite.regex.pattern", "routes[].rewrite.regex.substitution", "routes[].split[].cluster",
	"sidecar.domains[]", "sidecar.inbound.cluster", "sidecar.inbound.consumerRateLimit.key",
	"sidecar.inbound.consumerRateLimit.type", "sidecar.inbound.hashKey.cookie", "sidecar.inbound.hashKey.header",
	"sidecar.inbound.listen", "sidecar.inbound.middlewares[].name", "sidecar.inbound.rateLimit.type",
	"sidecar.inbound.rateLimits[].type", "sidecar.inbound.retry.retryOn[]", "sidecar.outbound[].cluster",
	"sidecar.outbound[].consumerRateLimit.key", "sidecar.outbound[].consumerRateLimit.type",
	"sidecar.outbound[].hashKey.cookie", "sidecar.outbound[].hashKey.header",
	"sidecar.outbound[].middlewares[].name", "sidecar.outbound[].rateLimit.type",
	"sidecar.outbound[].rateLimits[].type", "sidecar.outbound[].retry.retryOn[]", "sidecar.outbound[].service",
	"sidecar.service",
}

// secretParams are middleware params with a secret in every place the
// rules of Redacted name, beside values that must be kept.
func secretParams() map[string]any {
	return map[string]any{
		"type":   "apiKey",
		"header": "X-Api-Key",
		"keys":   []any{map[string]any{"name": "alice-MARK", "hash": "MARK-digest", "scopes": []any{"pay"}}},
		// jwt
		"issuer":   "https://idp.local",
		"jwksFile": "/etc/meshbench/jwks.json",
		"jwksUrl":  "https://jwks:pw-MARK@127.0.0.1:8443/jwks?sig=MARK",
		// names the generic rule covers
		"clientSecret": "MARK-secret",
		"api_token":    "MARK-token",
		"Password":     "MARK-password",
		"signing-key":  "MARK-key",
		"apiKeys":      []any{"MARK-1", "MARK-2"},
		"maxKeys":      1000,
		// a header match, as fault's
		"match": map[string]any{"name": "Authorization", "value": "Bearer MARK"},
		"nested": map[string]any{"credentials": map[string]any{"user": "MARK-user"},
			"list": []any{map[string]any{"token": "MARK-t"}}},
	}
}

// fill sets every string of v to a value naming its path (with a secret
// mark where the path is a secret), every slice to one element and every
// pointer to a new value, and records the string paths.
func fill(t *testing.T, v reflect.Value, path string, paths map[string]string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path, paths)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			p := path
			if name != "" && !f.Anonymous {
				p = joinPath(path, name)
			}
			fill(t, v.Field(i), p, paths)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0), path+"[]", paths)
	case reflect.Map:
		if v.Type() != reflect.TypeFor[map[string]any]() {
			t.Fatalf("%s: map type %s: teach the test", path, v.Type())
		}
		v.Set(reflect.ValueOf(secretParams()))
	case reflect.String:
		s := "v-" + path
		switch {
		case path == "routes[].match.headers[].name":
			s = "Authorization"
		case path == "clusters[].discovery.url":
			s = "http://reg:pw-" + secretMark + "@127.0.0.1:9901/registry?token=" + secretMark
		case path == "adminAccess.tokens[].sha256":
			s = strings.Repeat("ab", 32)
		case slices.Contains(secretFields, path):
			s += "-" + secretMark
		}
		v.SetString(s)
		paths[path] = s
	}
}

// collect records the strings of v by path, as fill names them.
func collect(v reflect.Value, path string, out map[string]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			collect(v.Elem(), path, out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			p := path
			if name != "" && !f.Anonymous {
				p = joinPath(path, name)
			}
			collect(v.Field(i), p, out)
		}
	case reflect.Slice:
		if v.Len() > 0 {
			collect(v.Index(0), path+"[]", out)
		}
	case reflect.String:
		out[path] = v.String()
	}
}

// TestRedactedEveryField fills every string field of Config and every
// middleware's params, and checks that Redacted hides each secret, keeps
// everything else, and leaves its receiver alone. A string field that is
// neither in secretFields nor publicFields fails the test until someone
// decides whether it is a secret.
func TestRedactedEveryField(t *testing.T) {
	var cfg Config
	paths := map[string]string{}
	fill(t, reflect.ValueOf(&cfg).Elem(), "", paths)
	known := append(slices.Clone(secretFields), publicFields...)
	for p := range paths {
		if !slices.Contains(known, p) {
			t.Errorf("string field %s is not classified: add it to secretFields or publicFields (and to Config.Redacted if secret)", p)
		}
	}
	for _, p := range known {
		if _, ok := paths[p]; !ok {
			t.Errorf("classified field %s no longer exists", p)
		}
	}
	before, _ := json.Marshal(cfg)

	red := cfg.Redacted()
	got := map[string]string{}
	collect(reflect.ValueOf(red), "", got)
	for p, orig := range paths {
		switch {
		case slices.Contains(secretFields, p):
			if strings.Contains(got[p], secretMark) || got[p] == orig || !strings.Contains(got[p], Redacted) {
				t.Errorf("secret %s = %q, want it redacted", p, got[p])
			}
		case got[p] != orig:
			t.Errorf("%s = %q, want it kept as %q", p, got[p], orig)
		}
	}
	if u := got["clusters[].discovery.url"]; !strings.HasPrefix(u, "http://reg:REDACTED@127.0.0.1:9901/registry?") {
		t.Errorf("discovery url %q: want user, host and path kept", u)
	}

	// Params, wherever middlewares are.
	for name, mws := range map[string][]MiddlewareConfig{
		"routes": red.Routes[0].Middlewares, "sidecar.outbound": red.Sidecar.Outbound[0].Middlewares,
		"sidecar.inbound": red.Sidecar.Inbound.Middlewares,
	} {
		b, _ := json.Marshal(mws[0].Params)
		js := string(b)
		if strings.Contains(js, secretMark) {
			t.Errorf("%s params keep a secret: %s", name, js)
		}
		for _, keep := range []string{`"type":"apiKey"`, `"header":"X-Api-Key"`, `"issuer":"https://idp.local"`,
			`"jwksFile":"/etc/meshbench/jwks.json"`, `"maxKeys":1000`, `"name":"Authorization"`,
			`"jwksUrl":"https://jwks:REDACTED@127.0.0.1:8443/jwks?sig=REDACTED"`} {
			if !strings.Contains(js, keep) {
				t.Errorf("%s params lost %s: %s", name, keep, js)
			}
		}
	}

	// The whole view, as /config encodes it.
	all, _ := json.Marshal(red)
	if strings.Contains(string(all), secretMark) {
		t.Errorf("redacted config keeps a secret: %s", all)
	}
	if after, _ := json.Marshal(cfg); string(after) != string(before) {
		t.Error("Redacted modified its receiver")
	}
}

func TestSecretNames(t *testing.T) {
	for name, want := range map[string]bool{
		"secret": true, "clientSecret": true, "token": true, "api_token": true, "password": true, "PASSWD": true,
		"key": true, "keys": true, "apiKey": true, "signing-key": true, "hash": true, "privateKeyPem": true,
		"credentials": true, "maxKeys": true,
		"keyFile": false, "jwksFile": false, "header": false, "issuer": false, "name": false, "monkeyPatch": false,
	} {
		if got := secretName(name); got != want {
			t.Errorf("secretName(%q) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]bool{
		"Authorization": true, "proxy-authorization": true, "Cookie": true, "X-Api-Key": true, "X-Auth-Token": true,
		"X-Chaos": false, "Host": false, "": false,
	} {
		if got := secretHeader(name); got != want {
			t.Errorf("secretHeader(%q) = %v, want %v", name, got, want)
		}
	}
}
