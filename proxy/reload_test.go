package proxy

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
)

func TestReloadUnderLoad(t *testing.T) {
	blue := upstream(t, echo("blue"))
	green := upstream(t, echo("green"))
	cfgFor := func(target string, timeout time.Duration) config.Config {
		return config.Config{
			Clusters: []config.ClusterConfig{{Name: "blue", Endpoints: eps(blue)}, {Name: "green", Endpoints: eps(green)}},
			Routes:   []config.RouteConfig{{Name: "main", Match: config.MatchConfig{Prefix: "/"}, Cluster: target, Policy: config.Policy{Timeout: config.Duration(timeout)}}},
		}
	}
	h := start(t, cfgFor("blue", 5*time.Second))

	// Workers send until told to stop: the load must outlast the reloads
	// however fast either goes.
	const workers = 8
	var failures, sent atomic.Int64
	var greenOnce sync.Once
	greenHit := make(chan struct{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				sent.Add(1)
				resp, err := h.client.Get(h.url + "/x")
				if err != nil {
					failures.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
					continue
				}
				if decodeEcho(t, string(b)).Name == "green" {
					greenOnce.Do(func() { close(greenHit) })
				}
			}
		})
	}
	targets := []string{"green", "blue"}
	const reloads = 200
	for i := range reloads {
		// Alternate the route's target, and change a cluster's pool so
		// clusters are rebuilt and retired under load too.
		cfg := cfgFor(targets[i%2], time.Duration(5+i%3)*time.Second)
		cfg.Clusters[i%2].Connection.MaxIdleConnsPerHost = 10 + i
		if err := h.p.Reload(cfg); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		// A refused configuration must leave the running one in place.
		bad := cfgFor("nope", time.Second)
		if err := h.p.Reload(bad); err == nil {
			t.Fatal("a route to an unknown cluster was accepted")
		}
	}
	// The last configuration sends everything to green: the next request
	// any worker makes proves the reloaded target serves.
	if err := h.p.Reload(cfgFor("green", 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-greenHit:
	case <-time.After(10 * time.Second):
		t.Error("no request reached the reloaded target within 10s")
	}
	close(done)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed across %d reloads", n, sent.Load(), reloads)
	}
}

func TestReloadRefusedKeepsServing(t *testing.T) {
	up := upstream(t, echo("up"))
	h := start(t, oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up)}, config.Policy{}))
	bad := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up), Balancer: config.BalancerConfig{Type: "fastest"}}, config.Policy{})
	err := h.p.Reload(bad)
	var ce *config.ConfigError
	if !errors.As(err, &ce) || ce.Path != "clusters[0].balancer" {
		t.Fatalf("reload error %v, want a ConfigError at clusters[0].balancer", err)
	}
	if resp, _ := h.get(t, "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after a refused reload: %d", resp.StatusCode)
	}
	if got := metricValue(t, h.p, `meshbench_proxy_reloads_total{result="refused"}`); got != 1 {
		t.Errorf("refused reloads %v", got)
	}
}
