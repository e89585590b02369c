package book

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	_ "github.com/meshbench/meshbench/importer/istio" // the library's imported example
	"github.com/meshbench/meshbench/scenarios"
	"github.com/meshbench/meshbench/sim"
)

func TestMain(m *testing.M) {
	bench.Register(sim.Backend{})
	os.Exit(m.Run())
}

// testEntries is the library in full, or in -short mode three scenarios:
// two small simulated ones and one the simulator does not run.
func testEntries(t *testing.T) []scenarios.Entry {
	t.Helper()
	if !testing.Short() {
		return scenarios.Library()
	}
	var out []scenarios.Entry
	for _, n := range []string{"grpc-vs-http", "idempotency-keys", "mtls-cost"} {
		e, err := scenarios.LibraryScenario(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// readTree reads every file under dir, by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = raw
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The simulator's part is a function of the library and the code: two
// generations are byte-identical, PNGs included.
func TestSimPartDeterministic(t *testing.T) {
	entries := testEntries(t)
	a, b := t.TempDir(), t.TempDir()
	ctx := context.Background()
	if err := GenerateSim(ctx, a, entries, nil); err != nil {
		t.Fatal(err)
	}
	if err := GenerateSim(ctx, b, entries, nil); err != nil {
		t.Fatal(err)
	}
	ta, tb := readTree(t, a), readTree(t, b)
	if len(ta) != len(tb) {
		t.Fatalf("%d files, then %d", len(ta), len(tb))
	}
	pngs := 0
	for p, raw := range ta {
		if !bytes.Equal(raw, tb[p]) {
			t.Errorf("%s differs between two generations", p)
		}
		if strings.HasSuffix(p, ".png") {
			pngs++
		}
	}
	if pngs == 0 {
		t.Error("no plot generated")
	}
	for _, e := range entries {
		if _, ok := ta[e.Name+".md"]; !ok {
			t.Errorf("no page for %s", e.Name)
		}
	}
	// No machine fact or date may enter the simulator's part.
	host, _ := os.Hostname()
	for p, raw := range ta {
		if strings.HasSuffix(p, ".png") {
			continue
		}
		m := CurrentMachine(time.Now())
		for _, leak := range []string{host, m.GoVersion, m.CPUModel, m.Kernel, m.Date} {
			if leak != "" && bytes.Contains(raw, []byte(leak)) {
				t.Errorf("%s mentions %q", p, leak)
			}
		}
	}
	if page := string(ta["idempotency-keys.md"]); !strings.Contains(page, "does not list the simulator") {
		t.Errorf("a local-only scenario's page:\n%s", page)
	}
}

// The drift checker names changed, missing and stale files of the
// simulator part, and leaves the local part alone.
func TestCompareReportsDrift(t *testing.T) {
	entries := testEntries(t)
	if !testing.Short() {
		entries = entries[:2]
	}
	fresh := t.TempDir()
	if err := GenerateSim(context.Background(), fresh, entries, nil); err != nil {
		t.Fatal(err)
	}
	book := t.TempDir()
	if err := Sync(book, fresh); err != nil {
		t.Fatal(err)
	}
	// A local part is never compared.
	if err := os.MkdirAll(filepath.Join(book, LocalDir, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(book, LocalDir, "x", "results.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err := Compare(book, fresh); err != nil || len(d) != 0 {
		t.Fatalf("an up-to-date book drifts: %v %v", d, err)
	}

	page := filepath.Join(book, entries[0].Name+".md")
	raw, _ := os.ReadFile(page)
	if err := os.WriteFile(page, bytes.Replace(raw, []byte("## Answer"), []byte("## Answr"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(book, "README.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(book, "gone.md"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	drift, err := Compare(book, fresh)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range drift {
		got[d.Path] = d.Kind
	}
	want := map[string]string{entries[0].Name + ".md": "changed", "README.md": "missing", "gone.md": "stale"}
	for p, k := range want {
		if got[p] != k {
			t.Errorf("%s: %q, want %q (drift %v)", p, got[p], k, drift)
		}
	}
	if len(drift) != len(want) {
		t.Errorf("drift %v, want only %v", drift, want)
	}
	var out bytes.Buffer
	WriteDrift(&out, book, drift)
	for _, w := range []string{"changed  " + entries[0].Name + ".md: line ", "## Answr", "make book-sim"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("drift summary lacks %q:\n%s", w, out.String())
		}
	}

	// Check, end to end, finds the same; after Sync nothing drifts and the
	// local part is still there.
	if d, err := Check(context.Background(), book, entries, nil); err != nil || len(d) != len(want) {
		t.Errorf("Check: %v %v", d, err)
	}
	if err := Sync(book, fresh); err != nil {
		t.Fatal(err)
	}
	if d, err := Compare(book, fresh); err != nil || len(d) != 0 {
		t.Errorf("after Sync: %v %v", d, err)
	}
	if _, err := os.Stat(filepath.Join(book, LocalDir, "x", "results.json")); err != nil {
		t.Errorf("Sync touched the local part: %v", err)
	}
}

// A PNG that changes is drift too, reported with its sizes.
func TestCompareBinary(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(a, "p.png"), []byte{1, 2, 3}, 0o644)
	os.WriteFile(filepath.Join(b, "p.png"), []byte{1, 2}, 0o644)
	d, err := Compare(a, b)
	if err != nil || len(d) != 1 || d[0].Detail != "3 bytes checked in, 2 generated" {
		t.Fatalf("%+v %v", d, err)
	}
}

// Running the local part for a few scenarios keeps the index rows of the
// others whose results are present (the command line passes the whole
// library as Index).
func TestLocalIndexKeepsOtherScenarios(t *testing.T) {
	dir := t.TempDir()
	var index []scenarios.Entry
	for _, n := range []string{"balancer-brownout", "mtls-cost"} {
		e, err := scenarios.LibraryScenario(n)
		if err != nil {
			t.Fatal(err)
		}
		index = append(index, e)
		raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "results", LocalDir, n, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, LocalDir, n), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, LocalDir, n, "results.json"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := GenerateLocal(context.Background(), dir, nil, LocalOptions{Index: index}); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(dir, LocalDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[balancer-brownout](balancer-brownout.md)", "[mtls-cost](mtls-cost.md)"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("local/README.md lacks %q:\n%s", want, readme)
		}
	}
}
