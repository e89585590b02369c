package proxy

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReloadUnderLoad(t *testing.T) {
	blue := upstream(t, echo("blue"))
	green := upstream(t, echo("green"))
	config := func(target string, timeout time.Duration) Config {
		return Config{
			Clusters: []ClusterConfig{{Name: "blue", Endpoints: eps(blue)}, {Name: "green", Endpoints: eps(green)}},
			Routes:   []RouteConfig{{Name: "main", Match: MatchConfig{Prefix: "/"}, Cluster: target, Policy: Policy{Timeout: Duration(timeout)}}},
		}
	}
	h := start(t, config("blue", 5*time.Second))

	const workers, perWorker = 8, 150
	var failures atomic.Int64
	var seen sync.Map
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range workers {
		wg.Go(func() {
			for range perWorker {
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
				seen.Store(decodeEcho(t, string(b)).Name, true)
			}
		})
	}
	reloads := 0
	go func() {
		wg.Wait()
		close(stop)
	}()
	targets := []string{"green", "blue"}
loop:
	for i := 0; i < 200; i++ {
		select {
		case <-stop:
			break loop
		default:
		}
		// Alternate the route's target, and change a cluster's pool so
		// clusters are rebuilt and retired under load too.
		cfg := config(targets[i%2], time.Duration(5+i%3)*time.Second)
		cfg.Clusters[i%2].Connection.MaxIdleConnsPerHost = 10 + i
		if err := h.p.Reload(cfg); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		reloads++
		// A refused configuration must leave the running one in place.
		bad := config("nope", time.Second)
		if err := h.p.Reload(bad); err == nil {
			t.Fatal("a route to an unknown cluster was accepted")
		}
	}
	<-stop
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed across %d reloads", n, workers*perWorker, reloads)
	}
	if _, ok := seen.Load("green"); !ok {
		t.Error("no request reached the reloaded target")
	}
	if reloads == 0 {
		t.Error("no reload happened during the load")
	}
}

func TestReloadRefusedKeepsServing(t *testing.T) {
	up := upstream(t, echo("up"))
	h := start(t, oneRoute(ClusterConfig{Name: "up", Endpoints: eps(up)}, Policy{}))
	bad := oneRoute(ClusterConfig{Name: "up", Endpoints: eps(up), Balancer: BalancerConfig{Type: "fastest"}}, Policy{})
	err := h.p.Reload(bad)
	var ce *ConfigError
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
