package proxy

import (
	"net/http"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
)

func TestMiddlewareParams(t *testing.T) {
	type headerConfig struct {
		Name  string          `yaml:"name"`
		Value string          `yaml:"value"`
		TTL   config.Duration `yaml:"ttl"`
	}
	var got headerConfig
	setHeader := func(route string, params map[string]any) (Middleware, error) {
		var c headerConfig
		if err := DecodeParams(params, &c); err != nil {
			return nil, err
		}
		got = c
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.Header.Set(c.Name, c.Value+"@"+route)
				next.ServeHTTP(w, r)
			})
		}, nil
	}
	yml := `
clusters:
  - name: up
    endpoints: [{address: ` + upstream(t, echo("up")) + `}]
routes:
  - name: tagged
    cluster: up
    middlewares:
      - name: set-header
        params: {name: X-Tag, value: blue, ttl: 2s}
`
	cfg, err := config.Parse("mw.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, cfg, WithMiddleware("set-header", setHeader))
	if got.TTL.D() != 2*time.Second {
		t.Errorf("decoded %+v", got)
	}
	_, body := h.get(t, "/")
	if v := decodeEcho(t, body).Header.Get("X-Tag"); v != "blue@tagged" {
		t.Errorf("X-Tag %q", v)
	}

	bad := cfg
	bad.Routes = []config.RouteConfig{{Name: "x", Cluster: "up", Policy: config.Policy{Middlewares: []config.MiddlewareConfig{{Name: "set-header", Params: map[string]any{"colour": "red"}}}}}}
	if err := h.p.Reload(bad); err == nil {
		t.Error("unknown middleware param accepted")
	}
	bad.Routes[0].Middlewares[0].Name = "nope"
	if err := h.p.Reload(bad); err == nil {
		t.Error("unknown middleware accepted")
	}
}
