package proxybench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/proxy/secure"
)

// TestConfigs checks each proxy's configuration for the settings the
// comparison depends on, and with the proxy's own checker when it is
// installed.
func TestConfigs(t *testing.T) {
	dir := t.TempDir()
	t.Run("meshbench", func(t *testing.T) {
		if _, err := secure.ParseFile("m.yaml", []byte(meshbenchConfig("127.0.0.1:1", "127.0.0.1:2"))); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("nginx", func(t *testing.T) {
		conf := nginxConfig(dir, "127.0.0.1:1", "127.0.0.1:3", "127.0.0.1:2")
		for _, want := range []string{"listen 127.0.0.1:3 http2;", "limit_req zone=perkey", "map $http_x_api_key", `"` + BenchAPIKey + `" 1;`, "return 401;", "worker_processes 1;", "keepalive 256;", "keepalive_requests 10000000;", "proxy_http_version 1.1;", `proxy_set_header Connection "";`, "access_log off;"} {
			if !strings.Contains(conf, want) {
				t.Errorf("nginx config lacks %q", want)
			}
		}
		if strings.Count(conf, "keepalive_requests") != 2 {
			t.Error("keepalive_requests must be raised on both sides")
		}
		bin, err := exec.LookPath("nginx")
		if err != nil {
			if bin, err = lookSbin("nginx"); err != nil {
				t.Skip("nginx not installed")
			}
		}
		file := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-t", "-p", dir, "-c", file, "-e", filepath.Join(dir, "error.log")).CombinedOutput(); err != nil {
			t.Fatalf("nginx -t: %v\n%s", err, out)
		}
	})
	t.Run("haproxy", func(t *testing.T) {
		conf := haproxyConfig("127.0.0.1:1", "127.0.0.1:3", "127.0.0.1:2")
		for _, want := range []string{"bind 127.0.0.1:3 proto h2", "req.hdr(x-api-key) -m str " + BenchAPIKey, "deny_status 401", "sc_http_req_rate(0)", "nbthread 1", "http-reuse always", "option http-keep-alive"} {
			if !strings.Contains(conf, want) {
				t.Errorf("haproxy config lacks %q", want)
			}
		}
		bin, err := exec.LookPath("haproxy")
		if err != nil {
			if bin, err = lookSbin("haproxy"); err != nil {
				t.Skip("haproxy not installed")
			}
		}
		file := filepath.Join(dir, "haproxy.cfg")
		if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-c", "-f", file).CombinedOutput(); err != nil {
			t.Fatalf("haproxy -c: %v\n%s", err, out)
		}
	})
}
