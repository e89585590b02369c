package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigExample(t *testing.T) {
	cfg, err := Load("testdata/gateway.yaml")
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	r := cfg.Routes[0]
	if r.Retry.PerTryTimeout.D() != 500*time.Millisecond || r.Hedge.Delay.D() != 50*time.Millisecond || len(r.Split) != 2 {
		t.Errorf("route decoded as %+v", r)
	}
	if cfg.Clusters[0].Balancer.Type != "peak_ewma" || cfg.Clusters[0].Outlier.Consecutive5xx != 5 {
		t.Errorf("cluster decoded as %+v", cfg.Clusters[0])
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, in order of appearance
	}{
		{
			name: "unknown key",
			yaml: "routes:\n  - match: {prefix: /}\n    cluster: a\n    retires: 3\n",
			want: []string{"cfg.yaml:4:5: ", `unknown field "retires"`},
		},
		{
			name: "bad duration",
			yaml: "routes:\n  - cluster: a\n    timeout: soon\n",
			want: []string{"cfg.yaml:3:14: ", `invalid duration "soon"`},
		},
		{
			name: "duration as a number",
			yaml: "routes:\n  - cluster: a\n    timeout: 5\n",
			want: []string{"cfg.yaml:3:14: ", "want a duration"},
		},
		{
			name: "wrong type",
			yaml: "clusters:\n  - name: a\n    thresholds: {maxRequests: many}\n",
			want: []string{"cfg.yaml:3:31: "},
		},
		{
			name: "unknown cluster",
			yaml: "routes:\n  - match: {prefix: /}\n    cluster: nope\n",
			want: []string{"cfg.yaml:3:14: routes[0].cluster: unknown cluster \"nope\""},
		},
		{
			name: "several problems at once",
			yaml: "clusters:\n  - name: a\n    endpoints: [{address: 127.0.0.1:1}]\n    balancer: {type: fastest}\nroutes:\n  - match: {regex: \"(\"}\n    cluster: a\n",
			want: []string{"cfg.yaml:4:15: clusters[0].balancer: ", "fastest", "cfg.yaml:6:20: routes[0].match.regex: ", "missing closing )"},
		},
		{
			name: "bad endpoint address",
			yaml: "clusters:\n  - name: a\n    endpoints: [{address: nowhere}]\nroutes:\n  - cluster: a\n",
			want: []string{"clusters[0].discovery: ", "nowhere"},
		},
		{
			name: "duplicate key",
			yaml: "mode: gateway\nmode: sidecar\n",
			want: []string{"cfg.yaml:2:1: ", "already defined"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("cfg.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *ConfigError", err)
			}
			msg := err.Error()
			at := 0
			for _, w := range tc.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", msg, w)
				}
				at += i + len(w)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("routes:\n  - match: {prefix: /}\n    cluster: a\nclusters:\n  - name: a\n    endpoints: [{address: 127.0.0.1:1}]\n"))
	f.Add([]byte("mode: sidecar\nsidecar: {inbound: {cluster: a}}\n"))
	f.Add([]byte("routes: [{match: {regex: '('}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse("fuzz.yaml", data)
	})
}
