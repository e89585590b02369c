package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbench/meshbench/internal/testnet"
	"github.com/meshbench/meshbench/proxy/config"
)

// BenchmarkProxy measures the hot path: a GET through the proxy to an
// in-process upstream on loopback, against the same GET sent directly to
// the upstream in the same run. Reported beside ns/op and allocs/op (which
// include the client's and the upstream's work):
//
//	direct-ns/op     the direct request
//	x-direct         proxied time over direct time
//	proxy-allocs/op  allocations per request added by the proxy (proxied
//	                 minus direct, counted with runtime.MemStats)
//
// Variants: "minimal" is one route and one endpoint, which the fast path
// serves; "general" is the same through the general path; "policies" adds a rate
// limiter, an outcome breaker, outlier detection, a retry policy with its
// budget and least_request balancing over two endpoints; "tls" is minimal
// with the client talking HTTP/1.1 over TLS to the proxy (direct stays
// plaintext, so its x-direct includes TLS); "h2c" is minimal with the
// client talking HTTP/2 with prior knowledge to the proxy (the HTTP/2 fast
// path), and "h2c-general" the same through the general path.
func BenchmarkProxy(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
	}))
	defer up.Close()
	addr := up.Listener.Addr().String()
	up2 := httptest.NewServer(up.Config.Handler)
	defer up2.Close()

	cert, pool := testnet.SelfSigned(b)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}}
	variants := []struct {
		name string
		cfg  config.Config
		tls  bool
		h2c  bool
		opts []Option
	}{
		{name: "minimal", cfg: oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(addr)}, config.Policy{})},
		{name: "general", cfg: oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(addr)}, config.Policy{}), opts: []Option{withoutFastPath()}},
		{name: "tls", cfg: oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(addr)}, config.Policy{}), tls: true},
		{name: "h2c", cfg: oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(addr)}, config.Policy{}), h2c: true},
		{name: "h2c-general", cfg: oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(addr)}, config.Policy{}), h2c: true,
			opts: []Option{withoutFastPath()}},
		{name: "policies", cfg: oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(addr, up2.Listener.Addr().String()),
			Balancer:       config.BalancerConfig{Type: "least_request"},
			CircuitBreaker: &config.BreakerConfig{},
			Outlier:        &config.OutlierConfig{},
		}, config.Policy{
			Retry:     config.RetryConfig{Attempts: 2},
			RateLimit: &config.RateLimitConfig{Rate: 1e9, Burst: 1 << 20},
		})},
	}
	for _, v := range variants {
		opts := v.opts
		if v.tls {
			opts = append(opts, WithServerTLS(serverTLS))
		}
		h := start(b, v.cfg, opts...)
		tr := &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 1024, TLSClientConfig: &tls.Config{RootCAs: pool}}
		client := &http.Client{Transport: tr}
		proxyClient := client
		if v.h2c {
			h2 := &http.Transport{Protocols: new(http.Protocols)}
			h2.Protocols.SetUnencryptedHTTP2(true)
			defer h2.CloseIdleConnections()
			proxyClient = &http.Client{Transport: h2}
		}
		get := func(url string) { getWith(b, client, url) }
		getProxied := func(url string) { getWith(b, proxyClient, url) }
		direct, proxied := "http://"+addr+"/", h.url+"/"
		if v.tls {
			proxied = "https://" + strings.TrimPrefix(h.url, "http://") + "/"
		}
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(v.name+"/"+mode, func(b *testing.B) {
				parallel := mode == "parallel"
				// Warm both paths' connection pools.
				runLoad(200, parallel, func() { get(direct) })
				runLoad(200, parallel, func() { getProxied(proxied) })

				n := max(b.N, 200)
				dNs, dAllocs := measure(n, parallel, func() { get(direct) })
				b.ResetTimer()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							getProxied(proxied)
						}
					})
				} else {
					for range b.N {
						getProxied(proxied)
					}
				}
				b.StopTimer()
				runtime.ReadMemStats(&m1)
				pNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				pAllocs := float64(m1.Mallocs-m0.Mallocs) / float64(b.N)
				b.ReportMetric(dNs, "direct-ns/op")
				b.ReportMetric(pNs/dNs, "x-direct")
				b.ReportMetric(pAllocs-dAllocs, "proxy-allocs/op")
			})
		}
		tr.CloseIdleConnections()
	}
}

// getWith GETs url with client and reads the whole answer, which must be
// a 200.
func getWith(b *testing.B, client *http.Client, url string) {
	resp, err := client.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// measure runs f n times (spread over GOMAXPROCS goroutines when parallel)
// and returns the mean wall time and allocations per call.
func measure(n int, parallel bool, f func()) (nsPerOp, allocsPerOp float64) {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	runLoad(n, parallel, f)
	el := time.Since(start)
	runtime.ReadMemStats(&m1)
	return float64(el.Nanoseconds()) / float64(n), float64(m1.Mallocs-m0.Mallocs) / float64(n)
}

// runLoad calls f n times, from GOMAXPROCS goroutines when parallel.
func runLoad(n int, parallel bool, f func()) {
	if !parallel {
		for range n {
			f()
		}
		return
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		share := n / workers
		if w < n%workers {
			share++
		}
		wg.Go(func() {
			for range share {
				f()
			}
		})
	}
	wg.Wait()
}

// BenchmarkHandler measures the proxy's own code without sockets: a request
// through Handler() to an in-process RoundTripper, so ns/op and allocs/op
// are the proxy's (plus the fake upstream's response value).
func BenchmarkHandler(b *testing.B) {
	p, err := New(oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps("127.0.0.1:1")}, config.Policy{}), inProcess(), quiet(b), WithSeed(1))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	h := p.Handler()
	req := httptest.NewRequest(http.MethodGet, "http://gw.test/api/x?q=1", nil)
	req.RemoteAddr = "127.0.0.1:4321"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r := req.Clone(req.Context())
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
