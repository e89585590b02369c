package sim

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench"
	_ "github.com/meshbench/meshbench/importer/istio" // the library's imported example
	"github.com/meshbench/meshbench/scenarios"
)

// summary is a small order-insensitive digest of a result stream.
type summary struct {
	n, ok        int
	kinds        map[bench.Kind]int
	retries      int
	hedges       int
	p50, p99     time.Duration
	perInstance  map[string]int
	maxStart     time.Duration
	latencyTotal time.Duration
}

func summarize(rs []bench.Result, from time.Duration) summary {
	s := summary{kinds: map[bench.Kind]int{}, perInstance: map[string]int{}}
	var lat []time.Duration
	for _, r := range rs {
		if r.Start < from {
			continue
		}
		s.n++
		s.kinds[r.Kind]++
		s.retries += int(r.Retries)
		s.hedges += int(r.Hedges)
		s.perInstance[r.Instance]++
		s.maxStart = max(s.maxStart, r.Start)
		if r.OK() {
			s.ok++
			lat = append(lat, r.Latency)
			s.latencyTotal += r.Latency
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		s.p50 = lat[len(lat)/2]
		s.p99 = lat[len(lat)*99/100]
	}
	return s
}

func (s summary) availability() float64 { return float64(s.ok) / float64(max(s.n, 1)) }

func (s summary) String() string {
	errs := ""
	for k := bench.Kind(1); k < bench.KindOther+1; k++ {
		if n := s.kinds[k]; n > 0 {
			errs += fmt.Sprintf(" %s=%d", k, n)
		}
	}
	return fmt.Sprintf("n=%d avail=%.4f p50=%v p99=%v retries=%d hedges=%d%s",
		s.n, s.availability(), s.p50, s.p99, s.retries, s.hedges, errs)
}

func runBackend(t testing.TB, p *scenarios.Plan, variant int) []bench.Result {
	t.Helper()
	var c collector
	out, err := Backend{}.Run(context.Background(), bench.Job{Plan: p, Variant: variant, Seed: p.Seed}, &c)
	if err != nil {
		t.Fatalf("variant %d: %v", variant, err)
	}
	if out.End != p.Duration {
		t.Fatalf("End = %v, want %v", out.End, p.Duration)
	}
	return c.rs
}

func loadLibrary(t testing.TB, name string) *scenarios.Plan {
	t.Helper()
	e, err := scenarios.LibraryScenario(name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := scenarios.LoadBytes(e.Name+".yaml", e.Source)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLibrary runs every shipped scenario, every variant, through the
// backend (shortened in -short mode) and checks the basics of the stream.
func TestLibrary(t *testing.T) {
	for _, e := range scenarios.Library() {
		t.Run(e.Name, func(t *testing.T) {
			p := loadLibrary(t, e.Name)
			if testing.Short() {
				p = p.WithDuration(p.Duration / 8)
			}
			for v := range p.Variants {
				rs := runBackend(t, p, v)
				s := summarize(rs, p.Warmup)
				t.Logf("%-22s %s", p.Variants[v].Name, s)
				if s.n == 0 {
					t.Fatalf("variant %s: no results", p.Variants[v].Name)
				}
				if s.maxStart >= p.Duration {
					t.Errorf("a request started at %v, after the end %v", s.maxStart, p.Duration)
				}
				for _, r := range rs {
					if r.Latency < 0 || r.Start < 0 {
						t.Fatalf("bad result %+v", r)
					}
				}
			}
		})
	}
}

func TestBackendContract(t *testing.T) {
	var b bench.Backend = Backend{}
	if b.Name() != "sim" {
		t.Fatalf("Name() = %q", b.Name())
	}
	if p, ok := b.(bench.Parallel); !ok || !p.Parallel() {
		t.Fatal("sim backend must be Parallel")
	}
	if _, err := b.Run(context.Background(), bench.Job{}, &collector{}); err == nil {
		t.Fatal("Run without a plan did not fail")
	}
}

func TestBackendCancel(t *testing.T) {
	p := loadLibrary(t, "balancer-brownout")
	ctx, cancel := context.WithCancel(context.Background())
	var c collector
	var seen []time.Duration
	job := bench.Job{Plan: p, Seed: 1, Progress: func(el time.Duration) {
		seen = append(seen, el)
		if el > p.Duration/4 {
			cancel()
		}
	}}
	out, err := Backend{}.Run(ctx, job, &c)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if out.End <= 0 || out.End >= p.Duration {
		t.Fatalf("End = %v: want part of %v", out.End, p.Duration)
	}
	if len(c.rs) == 0 || len(seen) == 0 {
		t.Fatal("no results or progress before cancellation")
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Fatalf("progress went backwards: %v", seen)
		}
	}
}
