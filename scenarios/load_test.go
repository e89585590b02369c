package scenarios

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadBytesIssuesAreComplete(t *testing.T) {
	// Several independent mistakes in one file come back together, sorted.
	src := strings.NewReplacer(
		"duration: 60s", "duration: 60 s",
		"replicas: 2", "replicas: 0",
		"rate: 100/s", "rate: 100rps",
	).Replace(minimal)
	_, err := LoadBytes("multi.yaml", []byte(src))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	want := []string{"duration", "topology.services[0].replicas", "load[0].rate"}
	if len(ve.Issues) != len(want) {
		t.Fatalf("got %d issues, want %d:\n%v", len(ve.Issues), len(want), err)
	}
	for i, is := range ve.Issues {
		if is.Path != want[i] {
			t.Errorf("issue %d at %s, want %s", i, is.Path, want[i])
		}
		if i > 0 && is.Line < ve.Issues[i-1].Line {
			t.Error("issues are not sorted by position")
		}
	}
}

func BenchmarkLoadBytes(b *testing.B) {
	for _, name := range []string{"balancer-brownout", "zone-failure"} {
		e, err := LibraryScenario(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("scenario="+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := LoadBytes(name, e.Source); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
