package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a run has got through its jobs' timelines, on
// stderr, when stderr is a terminal. Elsewhere (CI logs, pipes) it is silent.
type progress struct {
	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	elapsed []time.Duration
}

func newProgress(w io.Writer, jobs []bench.Job) *progress {
	p := &progress{elapsed: make([]time.Duration, len(jobs))}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return p
	}
	var total time.Duration
	for _, j := range jobs {
		total += j.Plan.Duration
	}
	p.bar = progressbar.NewOptions64(int64(total/time.Millisecond),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("running"),
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
	_ = p.bar.Set64(int64(sum / time.Millisecond))
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
