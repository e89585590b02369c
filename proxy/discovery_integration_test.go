package proxy

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/meshbench/meshbench/proxy/config"
)

type staticResolver map[string][]string

func (r staticResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (r staticResolver) LookupSRV(context.Context, string, string, string) (string, []*net.SRV, error) {
	return "", nil, &net.DNSError{Err: "no such host", IsNotFound: true}
}

func TestDiscoveryDrivesClusters(t *testing.T) {
	a := upstream(t, echo("a"))
	b := upstream(t, echo("b"))

	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "eps.yaml")
		if err := os.WriteFile(path, []byte("- address: "+a+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ev := newEvents()
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Discovery: &config.DiscoveryConfig{Type: "file", Path: path}}, config.Policy{}), ev.option())
		if _, body := h.get(t, "/"); decodeEcho(t, body).Name != "a" {
			t.Fatalf("before the change: %s", body)
		}
		ev.drain()
		if err := os.WriteFile(path+".new", []byte("- address: "+b+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
		ev.wait(t, "endpoints", func(e Event) bool { return e.Kind == EventEndpoints && e.Cluster == "up" })
		for range 5 {
			if _, body := h.get(t, "/"); decodeEcho(t, body).Name != "b" {
				t.Fatalf("after the change: %s", body)
			}
		}
	})

	t.Run("dns", func(t *testing.T) {
		host, port, _ := net.SplitHostPort(a)
		p, _ := strconv.Atoi(port)
		h := start(t, oneRoute(config.ClusterConfig{Name: "up", Discovery: &config.DiscoveryConfig{Type: "dns", Host: "payments.test", Port: p}}, config.Policy{}),
			WithResolver(staticResolver{"payments.test": {host}}))
		if resp, body := h.get(t, "/"); resp.StatusCode != 200 || decodeEcho(t, body).Name != "a" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
}
