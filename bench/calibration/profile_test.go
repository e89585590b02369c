package calibration

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestRoundTrip: a profile read, written and read again is the same
// profile, byte for byte after the first write.
func TestRoundTrip(t *testing.T) {
	p, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse("written.yaml", b)
	if err != nil {
		t.Fatalf("the written profile does not load: %v\n%s", err, b)
	}
	b2, err := q.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Errorf("round trip changed the profile:\n%s\n---\n%s", b, b2)
	}
	if got := q.Backends.Local.Hops.Fast.P50.D(); got != p.Backends.Local.Hops.Fast.P50.D() || got <= 0 {
		t.Errorf("fast p50 %v after the round trip", got)
	}
	if l := q.Backends.Local.Lag; l == nil || l.P50.D() != 80*time.Microsecond {
		t.Errorf("the load generator's lag after the round trip: %+v", l)
	}
	if l, extra, ok := q.Section(BackendLocal); !ok || l == nil || extra != nil {
		t.Error("no local section")
	}
	if _, _, ok := q.Section(BackendContainers); ok {
		t.Error("a containers section in a profile without one")
	}
}

// TestInvalid: every file under testdata/invalid is refused with the
// errors in its golden file (file:line:col: key path: message). Run with
// -update to rewrite them.
func TestInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no invalid cases")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestMachineDiffers: another machine's facts are named; kernel and Go
// version do not count.
func TestMachineDiffers(t *testing.T) {
	a := Machine{CPU: "Xeon", Cores: 2, OS: "linux/amd64", Kernel: "6.1", Go: "go1.26.0", Host: "sha256:01"}
	b := a
	b.Kernel, b.Go = "6.2", "go1.26.1"
	if d := a.Differs(b); len(d) != 0 {
		t.Errorf("an upgrade differs: %v", d)
	}
	b.Cores, b.Host = 4, "sha256:02"
	d := a.Differs(b)
	if len(d) != 2 || !strings.HasPrefix(d[0], "cores:") || !strings.HasPrefix(d[1], "host:") {
		t.Errorf("differences %v, want cores and host", d)
	}
	if m := ThisMachine(); m.Cores <= 0 || m.CPU == "" || !strings.HasPrefix(m.Host, "sha256:") {
		t.Errorf("this machine: %+v", m)
	}
}

// TestDisturbed: a profile measured while other processes were busy or
// the hypervisor ran other guests, or whose mesh took far from what its
// parts predict, says so; a quiet one,
// and one written before otherCores was measured, say nothing.
func TestDisturbed(t *testing.T) {
	p, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		name  string
		other *float64
		steal *float64
		scale float64
		want  string
	}{
		{"quiet", f(0.03), f(0.01), 0.95, ""},
		{"written before otherCores", nil, nil, 1.1, ""},
		{"a busy neighbour", f(0.4), f(0), 0.95, "other processes used 0.40 cores while"},
		{"a busy guest on the host", f(0.02), f(0.3), 0.95, "other processes used 0.02 cores and the hypervisor ran other guests for 0.30 cores (steal) while"},
		{"a little of each", f(0.15), f(0.15), 1.0, "0.15 cores and the hypervisor ran other guests for 0.15"},
		{"a little of each, below", f(0.12), f(0.12), 1.0, ""},
		{"a slow mesh", f(0.03), nil, 3.17, "its mesh took ×3.17"},
		{"a fast mesh", nil, nil, 0.3, "its mesh took ×0.30"},
		{"both", f(DisturbedCores), nil, 2.5, "cores while it measured; its mesh took ×2.50"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := *p
			q.Measured.OtherCores = c.other
			q.Measured.StealCores = c.steal
			l := *p.Backends.Local
			q.Backends.Local = &l
			if l.Mesh != nil {
				m := *l.Mesh
				m.Scale = c.scale
				l.Mesh = &m
			} else {
				l.Mesh = &MeshLatency{P50: *D(12 * time.Millisecond), P99: *D(30 * time.Millisecond), Predicted: *D(12 * time.Millisecond), Scale: c.scale}
			}
			got := q.Disturbed()
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("Disturbed() = %q, want %q", got, c.want)
			}
			if err := q.Validate(); err != nil {
				t.Errorf("a disturbed profile must still load: %v", err)
			}
		})
	}
}

// TestDistQuantile: interpolation between the listed quantiles, clamped
// at both ends.
func TestDistQuantile(t *testing.T) {
	d := NewDist(func(p float64) time.Duration { return time.Duration(p * 1000 * float64(time.Microsecond)) }, 0)
	for _, c := range []struct {
		u    float64
		want time.Duration
	}{{0, 10 * time.Microsecond}, {0.01, 10 * time.Microsecond}, {0.5, 500 * time.Microsecond}, {0.25, 250 * time.Microsecond}, {0.375, 375 * time.Microsecond}, {0.9995, 999 * time.Microsecond}, {1, 999 * time.Microsecond}} {
		if got := d.Quantile(c.u); got != c.want {
			t.Errorf("Quantile(%v) = %v, want %v", c.u, got, c.want)
		}
	}
	neg := NewDist(func(p float64) time.Duration { return time.Duration((p - 0.5) * 1e6) }, -5)
	if q := neg.Quantiles(); q[0] != 0 || q[4] != 0 || q[9] <= 0 || neg.Mean.D() != 0 {
		t.Errorf("negative differences not clamped: %v mean %v", q, neg.Mean)
	}
}
