package fleet

import (
	"testing"
	"time"
)

func TestParseDistribution(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // FormatDistribution of the result
		wantErr bool
	}{
		{"bare duration", "5ms", "5ms", false},
		{"zero", "0s", "0s", false},
		{"quoted duration", `"250us"`, "250µs", false},
		{"constant object", `{"type":"constant","value":"2ms"}`, "2ms", false},
		{"nanoseconds", `{"type":"exponential","mean":5000000}`, `{"type":"exponential","mean":"5ms"}`, false},
		{"lognormal", `{"type":"lognormal","median":"20ms","p99":"120ms"}`, `{"type":"lognormal","median":"20ms","p99":"120ms"}`, false},
		{"mu sigma", `{"type":"lognormal","mu":-3.9,"sigma":0.5}`, `{"type":"lognormal","mu":-3.9,"sigma":0.5}`, false},
		{"empirical", `{"type":"empirical","quantiles":[{"q":0,"value":"1ms"},{"q":1,"value":"3ms"}]}`,
			`{"type":"empirical","quantiles":[{"q":0,"value":"1ms"},{"q":1,"value":"3ms"}]}`, false},
		{"spaces", "  7ms ", "7ms", false},
		{"empty", "", "", true},
		{"no unit", "5", "", true},
		{"negative", "-5ms", "", true},
		{"unknown type", `{"type":"gamma","mean":"1ms"}`, "", true},
		{"unknown key", `{"type":"constant","value":"1ms","extra":1}`, "", true},
		{"impossible", `{"type":"uniform","min":"2ms","max":"1ms"}`, "", true},
		{"p99 below median", `{"type":"lognormal","median":"20ms","p99":"10ms"}`, "", true},
		{"bad duration string", `{"type":"exponential","mean":"fast"}`, "", true},
		{"trailing", `"1ms" "2ms"`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := ParseDistribution(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err == nil && FormatDistribution(spec) != tt.want {
				t.Errorf("got %s, want %s", FormatDistribution(spec), tt.want)
			}
		})
	}
}

// FuzzParseDistribution: whatever parses builds, and formats to text that
// parses to the same distribution.
func FuzzParseDistribution(f *testing.F) {
	for _, s := range []string{"5ms", `{"type":"exponential","mean":"5ms"}`, `{"type":"pareto","scale":"1ms","shape":1.5}`,
		`{"type":"normal","mean":"5ms","stddev":"1ms"}`, `{"type":"empirical","quantiles":[{"q":0.5,"value":"1ms"}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseDistribution(s)
		if err != nil {
			return
		}
		if _, err := spec.Build(); err != nil {
			t.Fatalf("%q parsed but does not build: %v", s, err)
		}
		text := FormatDistribution(spec)
		again, err := ParseDistribution(text)
		if err != nil {
			t.Fatalf("%q formatted as %q, which does not parse: %v", s, text, err)
		}
		if FormatDistribution(again) != text {
			t.Fatalf("%q: %q became %q", s, text, FormatDistribution(again))
		}
	})
}

func TestParseDeadline(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"250", 250 * time.Millisecond, true}, {"0", 0, true},
		{"-1", 0, false}, {"1.5", 0, false}, {"soon", 0, false}, {"999999999999", 0, false},
	}
	for _, tt := range tests {
		if got, ok := parseDeadline(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("parseDeadline(%q) = %v %v, want %v %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
