package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/meshbench/meshbench/reports/reportstest"
)

// TestMessages runs the command tree in process on each mistake a new user
// makes (issue 19's list) and checks what meshbench says and its exit
// status: 2 for usage and validation errors.
func TestMessages(t *testing.T) {
	tmp := t.TempDir()
	unitless := filepath.Join(tmp, "unitless.yaml")
	src := strings.Replace(string(mustLibrary(t, "retry-storm").Source), `min: "99%"`, `min: "99.9"`, 1)
	if err := os.WriteFile(unitless, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := writeRun(t, "plain", reportstest.Config{})
	other := writeRun(t, "other", reportstest.Config{Scenario: "other", Variants: []string{"no-retries", "with-budget"}})
	local := writeRun(t, "local", reportstest.Config{Backends: []string{"local"}})
	out := func(name string) string { return filepath.Join(tmp, name) }

	for _, c := range []struct {
		name    string
		args    []string
		code    int
		want    []string // in stdout or stderr
		notWant []string
	}{
		{"misspelt scenario name", []string{"run", "balancer-brownot"}, exitUsage,
			[]string{`"balancer-brownot" is neither a scenario file nor a shipped scenario`, `did you mean "balancer-brownout"?`, "meshbench scenarios list"}, []string{"no such file"}},
		{"missing scenario file", []string{"run", "scenarios/balancer-brownot.yaml"}, exitUsage,
			[]string{"no scenario file scenarios/balancer-brownot.yaml", `"balancer-brownout" needs no file`}, nil},
		{"validate a shipped name", []string{"validate", "retry-storm"}, exitOK, []string{"retry-storm: ok (retry-storm:"}, nil},
		{"validate a directory", []string{"validate", "../../scenarios/library"}, exitOK, []string{"retry-storm.yaml: ok", "balancer-brownout.yaml: ok"}, nil},
		{"validate a misspelt name", []string{"validate", "retry-strom"}, exitUsage, []string{`did you mean "retry-storm"?`}, nil},
		{"validate runs a backend's checks", []string{"validate", "erlang-c", "--backend", "containers"}, exitUsage,
			[]string{"erlang-c.yaml:", "topology.mesh: on containers: mesh proxyless"}, nil},
		{"misspelt backend", []string{"run", "retry-storm", "--backend", "simm"}, exitUsage,
			[]string{`unknown backend "simm" (did you mean "sim"?)`}, []string{"not available in this build"}},
		{"variant in kebab case", []string{"run", "balancer-brownout", "--backend", "sim", "--variant", "peak-ewma"}, exitUsage,
			[]string{`no variant "peak-ewma" (did you mean "peak_ewma"?)`}, nil},
		{"run without a scenario", []string{"run"}, exitUsage,
			[]string{"run needs SCENARIO", "shipped scenario", "usage: meshbench run SCENARIO", "example: meshbench run"}, []string{"accepts"}},
		{"gate without a run", []string{"gate", "--baseline", plain}, exitUsage,
			[]string{"gate needs CURRENT", "example: meshbench gate --baseline"}, []string{"accepts"}},
		{"compare with one run", []string{"compare", plain}, exitUsage, []string{"compare needs RUN_A RUN_B..., got only"}, []string{"requires at least"}},
		{"report without a folder", []string{"report"}, exitUsage, []string{"report needs RUN_DIR"}, nil},
		{"scenarios show without a name", []string{"scenarios", "show"}, exitUsage, []string{"scenarios show needs NAME"}, nil},
		{"too many arguments", []string{"run", "retry-storm", "hedging-tail"}, exitUsage, []string{`run takes SCENARIO, got 2 arguments: "retry-storm" "hedging-tail"`}, nil},
		{"arguments to version", []string{"version", "now"}, exitUsage, []string{`version takes no arguments, got "now"`}, nil},
		{"--version", []string{"--version"}, exitOK, []string{"meshbench v", "commit"}, nil},
		{"misspelt flag", []string{"run", "retry-storm", "--backnd", "sim"}, exitUsage, []string{"unknown flag: --backnd (did you mean --backend?)"}, nil},
		{"duration without its unit", []string{"run", "retry-storm", "--duration", "10"}, exitUsage, []string{`--duration "10": a duration needs its unit (did you mean "10s" or "10ms"?)`}, []string{"time:"}},
		{"a word for a number", []string{"run", "retry-storm", "--repeat", "x"}, exitUsage, []string{`--repeat "x": want a number`}, []string{"strconv"}},
		{"flag without its value", []string{"scenarios", "list", "-o"}, exitUsage, []string{"-o needs a value"}, nil},
		{"unknown flag", []string{"run", "retry-storm", "--colour"}, exitUsage, []string{"unknown flag: --colour (see meshbench run --help)"}, nil},
		{"misspelt subcommand", []string{"scenarios", "lst"}, exitUsage, []string{`did you mean "list"?`}, nil},
		{"misspelt command", []string{"rn", "retry-storm"}, exitUsage, []string{`unknown command "rn" for "meshbench" (did you mean "run"?)`}, []string{"Did you mean this"}},
		{"misspelt command of a group", []string{"fleet", "upp"}, exitUsage, []string{`unknown command "upp" for "meshbench fleet" (did you mean "up"?)`}, []string{"Available Commands"}},
		{"zero duration", []string{"run", "retry-storm", "--backend", "sim", "--duration", "0s", "--out", out("d")}, exitUsage,
			[]string{"--duration must be positive, got 0s", "leave it out"}, nil},
		{"availability without its unit", []string{"validate", unitless}, exitUsage,
			[]string{`slo[0].min: "99.9" has no unit: availability is a fraction: did you mean "99.9%"?`}, []string{"99.9ms"}},
		{"a backend refuses the scenario at start", []string{"run", "erlang-c", "--backend", "containers", "--out", out("c")}, exitUsage,
			[]string{"the scenario cannot run as asked", "on containers:", "erlang-c.yaml:"}, []string{"interrupted", "partial"}},
		{"unknown output format", []string{"scenarios", "list", "-o", "jsn"}, exitUsage, []string{`-o "jsn": unknown output format (did you mean "json"?)`}, nil},
		{"compare unrelated scenarios", []string{"compare", plain, other, "--out", out("cmp"), "--no-plots"}, exitUsage,
			[]string{"no backend × variant in common", "scenario other", "scenario synthetic"}, []string{"absent"}},
		{"compare runs on different backends", []string{"compare", plain, local, "--out", out("cmp2"), "--no-plots"}, exitUsage,
			[]string{"no backend × variant in common", "ran on different backends", "--backend sim,local"}, []string{"absent"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, context.Background(), c.args...)
			all := stdout + stderr
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s", code, c.code, all)
			}
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(all, w) {
					t.Errorf("output has %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestSummaryCountsAndCosts: summary.md says how many SLOs were met, not a
// bare "1/3", and shows hedges and retries where a run made some.
func TestSummaryCountsAndCosts(t *testing.T) {
	for _, c := range []struct {
		scenario string
		want     []string
	}{
		{"hedging-tail", []string{"| hedges |", " of 3 met |"}},
		{"retry-storm", []string{"| retries |", " met |"}},
	} {
		t.Run(c.scenario, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			code, stdout, stderr := cli(t, context.Background(), "run", c.scenario, "--backend", "sim", "--duration", "3s", "--out", dir)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			md, err := os.ReadFile(filepath.Join(dir, "summary.md"))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(string(md), w) {
					t.Errorf("summary.md lacks %q:\n%s", w, md)
				}
			}
			if strings.Contains(string(md), "/3 |") {
				t.Errorf("summary.md counts SLOs as a bare fraction:\n%s", md)
			}
			if !strings.Contains(stdout, "SLOs met") {
				t.Errorf("run's table does not say SLOs met:\n%s", stdout)
			}
		})
	}
}

// TestOutputFormats checks that -o json and -o yaml print what programs
// can parse, for each command that prints a result.
func TestOutputFormats(t *testing.T) {
	a := writeRun(t, "a", reportstest.Config{})
	b := writeRun(t, "b", reportstest.Config{Seed: 2, LatencyFactor: 1.2})
	tmp := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		code int
		key  string // a top-level key (object) or a key of the first element (list)
	}{
		{"scenarios list", []string{"scenarios", "list"}, exitOK, "question"},
		{"scenarios show", []string{"scenarios", "show", "retry-storm"}, exitOK, "topology"},
		{"validate", []string{"validate", "retry-storm", "hedging-tail"}, exitOK, "variants"},
		{"compare", []string{"compare", a, b, "--out", filepath.Join(tmp, "cmp"), "--no-plots"}, exitOK, "blocks"},
		{"gate", []string{"gate", "--baseline", a, b}, exitFailure, "checks"},
		{"version", []string{"version"}, exitOK, "commit"},
		{"run", []string{"run", "retry-storm", "--backend", "sim", "--duration", "2s", "--out", filepath.Join(tmp, "run")}, exitOK, "runs"},
	} {
		for _, format := range []string{"json", "yaml"} {
			t.Run(c.name+" "+format, func(t *testing.T) {
				code, stdout, stderr := cli(t, context.Background(), append(c.args, "-o", format)...)
				if code != c.code {
					t.Fatalf("exit %d, want %d: %s", code, c.code, stderr)
				}
				var v any
				var err error
				if format == "json" {
					err = json.Unmarshal([]byte(stdout), &v)
				} else {
					err = yaml.Unmarshal([]byte(stdout), &v)
				}
				if err != nil {
					t.Fatalf("stdout is not %s: %v\n%s", format, err, stdout)
				}
				if list, ok := v.([]any); ok && len(list) > 0 {
					v = list[0]
				}
				m, ok := v.(map[string]any)
				if !ok {
					t.Fatalf("stdout is %T, want an object or a list of objects", v)
				}
				if _, ok := m[c.key]; !ok {
					t.Errorf("no %q in %s output:\n%s", c.key, format, stdout)
				}
			})
		}
	}
}

func TestGateWritesJSONVerdict(t *testing.T) {
	a := writeRun(t, "a", reportstest.Config{})
	b := writeRun(t, "b", reportstest.Config{Seed: 2, LatencyFactor: 1.5})
	dir := t.TempDir()
	verdict := filepath.Join(dir, "gate.json")
	code, _, stderr := cli(t, context.Background(), "gate", "--baseline", a, b,
		"--junit", filepath.Join(dir, "gate.xml"), "--markdown", filepath.Join(dir, "gate.md"), "--json", verdict)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1 for a regression: %s", code, stderr)
	}
	raw, err := os.ReadFile(verdict)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Pass   bool `json:"pass"`
		Failed int  `json:"failed"`
		Checks []struct {
			Metric  string `json:"metric"`
			Pass    bool   `json:"pass"`
			Verdict string `json:"verdict"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v.Pass || v.Failed == 0 || len(v.Checks) == 0 {
		t.Fatalf("verdict: pass %v, %d failed of %d checks", v.Pass, v.Failed, len(v.Checks))
	}
	for _, f := range []string{"gate.xml", "gate.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestCompletionValues asks cobra's completion command what it would offer.
func TestCompletionValues(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"scenario names after run", []string{"run", "retry"}, []string{"retry-storm"}},
		{"scenario names after validate", []string{"validate", "hedg"}, []string{"hedging-tail"}},
		{"files in a directory", []string{"run", "scenarios/"}, []string{"yaml", "yml", ":8"}}, // FilterFileExt
		{"backends", []string{"run", "retry-storm", "--backend", ""}, []string{"containers", "local", "sim"}},
		{"variants of the scenario", []string{"run", "retry-storm", "--variant", ""}, []string{"no-retries", "naive-retries", "with-budget"}},
		{"output formats", []string{"compare", "-o", ""}, []string{"json", "yaml", "table"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, context.Background(), append([]string{"__complete"}, c.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("completion lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}
