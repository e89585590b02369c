package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/config"
)

// TestH2Spec runs h2spec (github.com/summerwind/h2spec, the HTTP/2
// conformance suite) against the gateway's h2c listener and against its
// TLS listener (h2 by ALPN, the tls section) and wants every case to pass.
// It needs the h2spec binary: $H2SPEC, or h2spec on PATH (`make h2spec`
// installs it and runs this test); without one, or with -short, it skips.
func TestH2Spec(t *testing.T) {
	if testing.Short() {
		t.Skip("h2spec takes seconds; not with -short")
	}
	bin := os.Getenv("H2SPEC")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("h2spec"); err != nil {
			t.Skip("h2spec not found: set H2SPEC or put it on PATH (make h2spec installs it)")
		}
	}
	// h2spec skips a case when / answers fewer than 5 bytes.
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "hello from the meshbench h2spec upstream\n")
	}))
	cfg := oneRoute(config.ClusterConfig{Name: "up", Endpoints: eps(up)}, config.Policy{})
	plain := start(t, cfg)

	ca, dir := newTestCA(t), t.TempDir()
	edge := startEdge(t, &config.TLSConfig{Certificates: []config.CertificateConfig{ca.files(t, dir, "site", "site", "localhost")}})

	for _, tc := range []struct {
		name, addr string
		args       []string
	}{
		{"h2c", plain.addr, nil},
		{"TLS h2 by ALPN", edge.addr, []string{"-t", "-k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port, err := net.SplitHostPort(tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			args := append([]string{"-h", host, "-p", port, "-o", "5"}, tc.args...)
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			summary := ""
			for line := range strings.Lines(string(out)) {
				if strings.Contains(line, " tests, ") {
					summary = strings.TrimSpace(line)
				}
			}
			t.Logf("h2spec %s: %s", tc.name, summary)
			if err != nil || !strings.HasSuffix(summary, " 0 failed") {
				t.Errorf("h2spec %s: %v\n%s", strings.Join(args, " "), err, out[max(0, strings.Index(string(out), "Failures:")):])
			}
		})
	}
}
