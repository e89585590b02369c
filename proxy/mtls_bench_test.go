package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/mtls"
)

// BenchmarkUpstreamMTLS is one POST through the proxy to an upstream on
// loopback, one request at a time on pooled connections, with the
// proxy's cluster in plaintext HTTP/1.1 and with mutual TLS (protocol
// https, SPIFFE SVIDs, the upstream behind mtls.Listen in STRICT mode), as
// bench/local's mesh runs each hop. The difference of the two is what a
// request pays for mTLS on one hop with the proxy's own transports: the
// records at both ends, and the general net/http transport that https
// clusters use where plaintext HTTP/1.1 has the proxy's own client. The
// simulator's cost model (sim/hopcost.go) charges it per try. cpu-ns/op
// is the process's CPU time (user and system: client, proxy and upstream)
// per request, steadier than ns/op on a shared machine.
//
//	go test -run XXX -bench UpstreamMTLS -cpu 1 -count 5 ./proxy/
func BenchmarkUpstreamMTLS(b *testing.B) {
	now := time.Now()
	ca, err := mtls.NewCA(mtls.CAOptions{TrustDomain: "bench.local", Now: now})
	if err != nil {
		b.Fatal(err)
	}
	issue := func(name string) *mtls.Source {
		s, err := ca.Issue(mtls.IssueRequest{ID: spiffeid.RequireFromString("spiffe://bench.local/sa/" + name), Now: now})
		if err != nil {
			b.Fatal(err)
		}
		return mtls.NewSource(s)
	}
	verifier := &mtls.Verifier{Bundle: ca.Bundle()}
	body := strings.Repeat("x", 200)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, strings.Repeat("y", 400))
	})
	serve := func(b *testing.B, wrap func(net.Listener) net.Listener) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: handler}
		go func() { _ = srv.Serve(wrap(ln)) }()
		b.Cleanup(func() { _ = srv.Close() })
		return ln.Addr().String()
	}
	run := func(b *testing.B, cc config.ClusterConfig, opts ...Option) {
		h := start(b, oneRoute(cc, config.Policy{}), opts...)
		b.ReportAllocs()
		cpu0 := cpuTime()
		n := 0
		for b.Loop() {
			n++
			resp, err := h.client.Post(h.url+"/v1/payments", "application/json", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/op")
	}
	b.Run("plaintext", func(b *testing.B) {
		addr := serve(b, func(ln net.Listener) net.Listener { return ln })
		run(b, config.ClusterConfig{Name: "up", Endpoints: eps(addr)})
	})
	b.Run("mtls", func(b *testing.B) {
		server := mtls.ServerConfig(issue("payments"), verifier)
		server.NextProtos = []string{"http/1.1"}
		addr := serve(b, func(ln net.Listener) net.Listener {
			l, err := mtls.Listen(ln, mtls.ModeStrict, server, 0)
			if err != nil {
				b.Fatal(err)
			}
			return l
		})
		client := issue("gateway")
		run(b, config.ClusterConfig{Name: "up", Protocol: config.ProtocolHTTPS, Endpoints: eps(addr)},
			WithClusterTLS(func(string) (*tls.Config, error) { return mtls.ClientConfig(client, verifier), nil }))
	})
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
