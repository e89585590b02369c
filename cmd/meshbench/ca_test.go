package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/proxy/auth"
	"github.com/meshbench/meshbench/proxy/mtls"
)

// runCLI runs the command tree (newRootCmd with SetArgs, via execute) and
// returns the exit code and outputs.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	code := exitOK
	if err := root.ExecuteContext(context.Background()); err != nil {
		code = exitFailure
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
	}
	return code, out.String(), errOut.String()
}

func TestCAInitAndIssue(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	certs := filepath.Join(t.TempDir(), "certs")
	if err := os.MkdirAll(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	const id = "spiffe://payments.example/ns/prod/sa/payments"
	steps := []struct {
		name string
		args []string
		want int
		out  string // substring of stdout
	}{
		{"init", []string{"ca", "init", "--dir", dir, "--trust-domain", "payments.example"}, exitOK, "trust domain payments.example"},
		{"init refuses to overwrite", []string{"ca", "init", "--dir", dir}, exitUsage, ""},
		{"issue", []string{"ca", "issue", "--dir", dir, "--spiffe", id, "--ttl", "10m", "--dns", "payments.local", "--out", certs}, exitOK, "payments.crt"},
		{"issue with a name", []string{"ca", "issue", "--dir", dir, "--spiffe", id, "--name", "p2"}, exitOK, "p2.crt"},
		{"issue needs --spiffe", []string{"ca", "issue", "--dir", dir}, exitUsage, ""},
		{"issue refuses an invalid ID", []string{"ca", "issue", "--dir", dir, "--spiffe", "spiffe://Payments.example/x"}, exitUsage, ""},
		{"issue refuses another trust domain", []string{"ca", "issue", "--dir", dir, "--spiffe", "spiffe://other.example/x"}, exitUsage, ""},
		{"issue without a CA", []string{"ca", "issue", "--dir", filepath.Join(t.TempDir(), "none"), "--spiffe", id}, exitUsage, ""},
		{"unknown flag", []string{"ca", "init", "--dir", dir, "--bogus"}, exitUsage, ""},
	}
	for _, st := range steps {
		code, out, errOut := runCLI(t, "", st.args...)
		if code != st.want || !strings.Contains(out, st.out) {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q; want exit %d and %q", st.name, code, out, errOut, st.want, st.out)
		}
	}
	svid, err := mtls.LoadSVID(filepath.Join(certs, "payments.crt"), filepath.Join(certs, "payments.key"))
	if err != nil {
		t.Fatal(err)
	}
	if svid.ID.String() != id || len(svid.Leaf.DNSNames) != 1 {
		t.Fatalf("issued %s with DNS %v", svid.ID, svid.Leaf.DNSNames)
	}
	if life := svid.Leaf.NotAfter.Sub(svid.Leaf.NotBefore); life != 11*time.Minute { // 10m plus a 1m backdate
		t.Fatalf("lifetime %v", life)
	}
	if fi, err := os.Stat(filepath.Join(certs, "payments.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "p2.key")); err != nil {
		t.Fatalf("--name without --out: %v", err)
	}
	// --force replaces the CA.
	before, _ := os.ReadFile(filepath.Join(dir, mtls.CACertFile))
	if code, _, errOut := runCLI(t, "", "ca", "init", "--dir", dir, "--force"); code != exitOK {
		t.Fatalf("init --force: %d %s", code, errOut)
	}
	after, _ := os.ReadFile(filepath.Join(dir, mtls.CACertFile))
	if bytes.Equal(before, after) {
		t.Fatal("--force kept the old CA")
	}
}

func TestCAInitDefaultDir(t *testing.T) {
	t.Chdir(t.TempDir())
	if code, _, errOut := runCLI(t, "", "ca", "init"); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join("meshbench-ca", "ca.key")); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "", "ca", "issue", "--spiffe", "spiffe://any.example/sa/x"); code != exitOK {
		t.Fatalf("issue: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join("meshbench-ca", "x.crt")); err != nil {
		t.Fatal(err)
	}
}

func TestCAHashKey(t *testing.T) {
	code, out, _ := runCLI(t, "k-acme-123\n", "ca", "hash-key")
	if code != exitOK || strings.TrimSpace(out) != auth.HashAPIKey("k-acme-123") {
		t.Fatalf("exit %d, out %q", code, out)
	}
	if code, _, _ := runCLI(t, "", "ca", "hash-key"); code != exitUsage {
		t.Fatalf("empty stdin: exit %d", code)
	}
}
