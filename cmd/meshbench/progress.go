package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a run has got through its jobs' timelines, and
// which backend, variant and repeat are running, on stderr, when stderr is
// a terminal. Elsewhere (CI logs, pipes) it is silent.
type progress struct {
	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	jobs    []bench.Job
	names   []string // each job as the bar names it
	elapsed []time.Duration
	desc    string
}

// newProgress returns the bar of jobs, which run on backends (as
// bench.Jobs returns them).
func newProgress(w io.Writer, jobs []bench.Job, backends []string) *progress {
	p := &progress{jobs: jobs, names: jobNames(jobs, backends), elapsed: make([]time.Duration, len(jobs))}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return p
	}
	var total time.Duration
	for _, j := range jobs {
		total += j.Plan.Duration
	}
	p.desc = p.describe()
	p.bar = progressbar.NewOptions64(int64(total/time.Millisecond),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(p.desc),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return p
}

func (p *progress) update(i int, elapsed time.Duration) {
	if p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.elapsed[i] = elapsed
	var sum time.Duration
	for _, e := range p.elapsed {
		sum += e
	}
	if d := p.describe(); d != p.desc {
		p.desc = d
		p.bar.Describe(d)
	}
	_ = p.bar.Set64(int64(sum / time.Millisecond))
}

// describe names the jobs under way ("sim hedge-10ms repeat 2") and how
// many have finished.
func (p *progress) describe() string {
	var running []string
	done := 0
	for i, e := range p.elapsed {
		switch {
		case e >= p.jobs[i].Plan.Duration:
			done++
		case e > 0:
			running = append(running, p.names[i])
		}
	}
	if len(running) == 0 {
		return fmt.Sprintf("running [%d/%d]", done, len(p.jobs))
	}
	return fmt.Sprintf("%s [%d/%d done]", strings.Join(running, ", "), done, len(p.jobs))
}

// jobNames names each job by backend and variant, and by repeat when there
// are several, numbered as summary.json and the run table number them:
// "sim hedge-10ms", "local round-robin repeat 2".
func jobNames(jobs []bench.Job, backends []string) []string {
	repeats := false
	for _, j := range jobs {
		repeats = repeats || j.Repeat > 0
	}
	names := make([]string, len(jobs))
	for i, j := range jobs {
		names[i] = backends[i] + " " + j.Plan.Variants[j.Variant].Name
		if repeats {
			names[i] += fmt.Sprintf(" repeat %d", j.Repeat)
		}
	}
	return names
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
