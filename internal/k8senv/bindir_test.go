package k8senv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestBinDirNamesWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvBin, dir)
	_, err := BinDir()
	if err == nil {
		t.Fatal("BinDir with an empty folder: no error")
	}
	for _, want := range []string{filepath.Join(dir, "etcd"), "make k8s-env"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	for _, b := range Binaries {
		if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := BinDir()
	if err != nil || got != dir {
		t.Fatalf("BinDir = %q, %v; want %q", got, err, dir)
	}
}

func TestZonesChecked(t *testing.T) {
	for name, zones := range map[string][]string{
		"empty":     {""},
		"twice":     {"a", "a"},
		"not label": {"zone a"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := checkZones(zones); err == nil || !strings.Contains(err.Error(), "Options.Zones[") {
				t.Fatalf("checkZones(%q) = %v, want an error naming the zone", zones, err)
			}
		})
	}
	if err := checkZones(DefaultZones); err != nil {
		t.Fatal(err)
	}
}

// The cache folder internal/k8senv looks in must be the one
// tools/k8senv/build.sh builds into.
func TestCacheDirMatchesBuildScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	t.Setenv(EnvCache, t.TempDir())
	want, err := cacheDir()
	if err != nil {
		t.Fatal(err)
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "tools", "k8senv", "build.sh")
	out, err := exec.Command("bash", script, "--print-dir").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --print-dir: %v\n%s", script, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("build.sh builds into\n  %s\nk8senv looks in\n  %s", got, want)
	}
	if !strings.Contains(want, "kubernetes-v1.34.") || !strings.Contains(want, "_etcd-v3.6.") {
		t.Errorf("cache key %s does not name the pinned versions", want)
	}
}
