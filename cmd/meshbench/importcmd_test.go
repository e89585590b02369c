package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportExportCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	gen := filepath.Join(dir, "gen.yaml")
	code, _, stderr := cli(t, ctx, "import", "istio", "../../scenarios/library/istio-outlier-proposal/proposal/", "--name", "mesh", "-o", gen)
	if code != 0 {
		t.Fatalf("import istio: exit %d\n%s", code, stderr)
	}
	px := filepath.Join(dir, "proxy.yaml")
	if code, _, stderr := cli(t, ctx, "import", "istio", "../../scenarios/library/istio-outlier-proposal/proposal/", "--proxy-config", px); code != 0 {
		t.Fatalf("--proxy-config: exit %d\n%s", code, stderr)
	}
	if b, err := os.ReadFile(px); err != nil || !strings.Contains(string(b), "listen: 127.0.0.1:10000") {
		t.Errorf("proxy config: %v\n%s", err, b)
	}
	if code, _, stderr := cli(t, ctx, "validate", gen); code != 0 {
		t.Fatalf("the imported scenario does not validate: %s", stderr)
	}
	// --strict turns what the corpus cannot represent into errors.
	code, _, stderr = cli(t, ctx, "import", "istio", "--strict", "../../importer/istio/testdata/mesh")
	if code != 2 || !strings.Contains(stderr, "virtualservice.yaml:31:7: unsupported: VirtualService payments: spec.http[0].mirror") {
		t.Errorf("--strict: exit %d\n%s", code, stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("_format_version: \"3.0\"\nservices:\n  - name: p\n    retries: many\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := cli(t, ctx, "import", "kong", bad); code != 2 || !strings.Contains(stderr, "bad.yaml:4:14: error: wrong type") {
		t.Errorf("malformed Kong file: exit %d\n%s", code, stderr)
	}
	// A scenario that does not validate is written all the same, exit 2:
	// no path matches the regex "/$x".
	never := filepath.Join(dir, "never.yaml")
	if err := os.WriteFile(never, []byte("_format_version: \"3.0\"\nservices:\n  - {name: p, url: \"http://p:80\", routes: [{name: r, paths: [\"~/$x\"]}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "never-gen.yaml")
	if code, _, stderr := cli(t, ctx, "import", "kong", never, "-o", out); code != 2 || !strings.Contains(stderr, "the generated scenario does not validate") || !strings.Contains(stderr, "matches no gateway route") {
		t.Errorf("unreachable route: exit %d\n%s", code, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "PLACEHOLDER: meshbench can write no path") {
		t.Errorf("the scenario is not written: %v\n%s", err, b)
	}
	code, stdout, stderr := cli(t, ctx, "export", "istio", "../../scenarios/library/istio-outlier-proposal.yaml", "--variant", "proposal")
	if code != 0 || !strings.Contains(stdout, "consecutive5xxErrors: 3") || !strings.Contains(stdout, "weight: 90") {
		t.Errorf("export istio: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, _ := cli(t, ctx, "export", "kong", "../../scenarios/library/istio-outlier-proposal.yaml", "--variant", "proposal"); code != 0 || !strings.Contains(stdout, `algorithm: "least-connections"`) {
		t.Errorf("export kong: exit %d\n%s", code, stdout)
	}
	if code, _, _ := cli(t, ctx, "export", "envoy", "weighted-canary"); code != 2 {
		t.Errorf("unknown target: exit %d, want 2", code)
	}
	if code, _, stderr := cli(t, ctx, "export", "istio", "weighted-canary", "--variant", "nope"); code != 2 || !strings.Contains(stderr, `no variant "nope"`) {
		t.Errorf("unknown variant: exit %d %s", code, stderr)
	}
}
