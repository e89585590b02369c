package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/meshbench/meshbench/bench"
)

// chromium finds a Chromium to drive. Without one the browser test skips on
// a developer's machine and fails where MESHBENCH_REQUIRE_BROWSER=1 (CI,
// whose .ci/run installs Debian's chromium package).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("MESHBENCH_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium on PATH (chromium, chromium-browser, google-chrome), and MESHBENCH_REQUIRE_BROWSER=1: install Debian's chromium package")
	}
	t.Skip("no Chromium on PATH; install Debian's chromium package (CI sets MESHBENCH_REQUIRE_BROWSER=1 and must not skip)")
	return ""
}

// TestDashboardInBrowser runs a short, paced simulator run with --serve on
// a free loopback port, loads the dashboard in headless Chromium, and
// checks what a person watching would: the charts gain points as the run's
// events arrive, the final SLO verdict appears and agrees with
// summary.json, and the report is served afterwards. Ctrl-C (the
// context) then stops the server, and the run exits 0.
func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		// make test's first pass (-race -short) leaves the browser to the
		// second, full pass; the server's goroutines are raced in
		// internal/dashboard's tests.
		t.Skip("the browser test runs without -short")
	}
	chrome := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The browser starts first, so that it watches the run from its start.
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1100, 1400))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if _, err := chromedp.Run(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium (%s): %v", chrome, err)
	}

	out := t.TempDir()
	runCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	stderr, stderrW := io.Pipe()
	var stdout bytes.Buffer
	exit := make(chan int, 1)
	finished := make(chan struct{})
	defer func() { interrupt(); <-finished }() // on failure too: no goroutine outlives the test
	go func() {
		defer close(finished)
		code := execute(runCtx, []string{"run", "hedging-tail", "--backend", "sim", "--variant", "no-hedging,hedge-10ms",
			"--duration", "6s", "--serve", "127.0.0.1:0", "--serve-pace", "3", "--out", out}, &stdout, stderrW)
		stderrW.Close()
		exit <- code
	}()
	urls := make(chan string, 1)
	var errText strings.Builder
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			errText.WriteString(line + "\n")
			if u, ok := strings.CutPrefix(line, "dashboard: "); ok {
				urls <- u
			}
		}
	}()
	var url string
	select {
	case url = <-urls:
	case code := <-exit:
		<-drained
		t.Fatalf("run exited %d before serving: %s", code, errText.String())
	case <-ctx.Done():
		t.Fatal("no dashboard address printed")
	}

	if _, err := chromedp.Run(browser, chromedp.Navigate(url)); err != nil {
		t.Fatalf("load %s: %v", url, err)
	}
	// Sample the charts' points while the run goes: they must grow in
	// several steps before the verdict comes.
	var seen []int
	state := ""
	giveUp := time.Now().Add(45 * time.Second) // the run takes a few seconds
	for state != "done" {
		type pageSample struct {
			Points int    `json:"points"`
			State  string `json:"state"`
			Events int    `json:"events"`
		}
		sample, err := chromedp.Run(browser, chromedp.Evaluate[pageSample](`({
			points: [...document.querySelectorAll("canvas.chart")].reduce((n, c) => n + Number(c.dataset.points || 0), 0),
			state: document.body.dataset.state,
			events: Number(document.body.dataset.events),
		})`))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		state = sample.State
		if state == "running" && sample.Points > 0 && (len(seen) == 0 || sample.Points != seen[len(seen)-1]) {
			if len(seen) > 0 && sample.Points < seen[len(seen)-1] {
				t.Errorf("the charts lost points: %d after %v", sample.Points, seen)
			}
			seen = append(seen, sample.Points)
		}
		if time.Now().After(giveUp) {
			t.Fatalf("the page never reached the end of the run: state %q, %d events, points seen %v", state, sample.Events, seen)
		}
		time.Sleep(100 * time.Millisecond) // polling a browser: nothing to wait on
	}
	if len(seen) < 3 {
		t.Errorf("the charts updated %d times while the run went (points %v), want at least 3", len(seen), seen)
	}

	verdict, err := chromedp.Run(browser, chromedp.Text("#verdict"))
	if err != nil {
		t.Fatalf("read the verdict: %v", err)
	}
	class, err := chromedp.Run(browser, chromedp.AttributeValue("#verdict", "class"))
	if err != nil {
		t.Fatalf("read the verdict: %v", err)
	}
	finalPoints, err := chromedp.Run(browser, chromedp.Evaluate[int](`[...document.querySelectorAll("canvas.chart")].reduce((n, c) => n + Number(c.dataset.points || 0), 0)`))
	if err != nil {
		t.Fatalf("read the charts: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum bench.Summary
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	want, wantClass := "SLO verdict: FAIL", "verdict fail"
	if sum.SLOPass {
		want, wantClass = "SLO verdict: PASS", "verdict pass"
	}
	if !strings.HasPrefix(verdict, want) || class.Value != wantClass {
		t.Errorf("verdict %q (class %q), summary.json says slo_pass=%v", verdict, class.Value, sum.SLOPass)
	}
	// Every bucket of every run is drawn on each of the seven charts
	// (latencies need successes, which every bucket of this run has).
	buckets := 0
	for _, r := range sum.Runs {
		buckets += len(r.Buckets)
	}
	if finalPoints != 7*buckets {
		t.Errorf("the charts end with %d points, want 7 charts × %d buckets", finalPoints, buckets)
	}

	// After the run, the report: its index.html with its plots.
	if _, err := chromedp.Run(browser, chromedp.Navigate(url+"report/index.html")); err != nil {
		t.Fatalf("load the report: %v", err)
	}
	// The report's plots load lazily: ask for them all and count those
	// that decode.
	plots, err := chromedp.Run(browser, chromedp.Evaluate[int](`Promise.all([...document.images].map(i => {
		i.loading = "eager";
		return i.decode().then(() => i.naturalWidth > 0, () => false);
	})).then(ok => ok.filter(Boolean).length)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("read the report: %v", err)
	}
	if plots == 0 {
		t.Error("the served report shows no plot")
	}

	interrupt() // Ctrl-C
	if code := <-exit; code != exitOK {
		t.Errorf("run exited %d after Ctrl-C while serving the report, want 0", code)
	}
	<-drained
	if !strings.Contains(errText.String(), "report: "+url+"report/ (serving until Ctrl-C)") {
		t.Errorf("stderr does not say where the report is served:\n%s", errText.String())
	}
	t.Logf("points while running: %v; verdict %q", seen, verdict)
}
