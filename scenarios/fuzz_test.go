package scenarios

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzLoad feeds arbitrary bytes to LoadBytes. It must never panic; it
// must return either a plan or a *ValidationError whose issues all have a
// position; and a plan it returns must marshal to JSON that loads back
// (plan.json is a scenario), rescale, and build all its service-time
// distributions.
func FuzzLoad(f *testing.F) {
	invalid, _ := filepath.Glob("testdata/invalid/*.yaml")
	valid, _ := filepath.Glob("testdata/valid/*.yaml")
	seeds := append(invalid, valid...)
	for _, path := range seeds {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, e := range Library() {
		f.Add(e.Source)
	}
	f.Add([]byte(minimal))
	f.Add([]byte(mergeScenario))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := LoadBytes("fuzz.yaml", src)
		if err != nil {
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("error %T: %v", err, err)
			}
			for _, is := range ve.Issues {
				if is.Line < 1 || is.Col < 1 {
					t.Fatalf("issue without position: %+v", is)
				}
			}
			return
		}
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := LoadBytes("plan.json", raw); err != nil {
			t.Fatalf("plan.json does not load back:\n%v\n%s", err, raw)
		}
		p.WithDuration(time.Second)
		for _, s := range p.Services {
			if _, err := s.ServiceTime.Build(); err != nil {
				t.Fatalf("service time of %s: %v", s.Name, err)
			}
		}
	})
}
