package fleet

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

func TestFaultPatch(t *testing.T) {
	lat := scenarios.Constant(time.Millisecond)
	tests := []struct {
		name    string
		start   Fault
		patch   string
		want    Fault
		wantErr bool
	}{
		{"empty patch", Fault{Slow: 2}, `{}`, Fault{Slow: 2}, false},
		{"set", Fault{}, `{"slow":3,"errorRate":0.5,"errorStatus":503}`, Fault{Slow: 3, ErrorRate: 0.5, ErrorStatus: 503}, false},
		{"merge keeps others", Fault{Slow: 2}, `{"hang":true}`, Fault{Slow: 2, Hang: true}, false},
		{"null clears", Fault{Slow: 2, Hang: true}, `{"hang":null}`, Fault{Slow: 2}, false},
		{"zero clears", Fault{Slow: 2, ErrorRate: 0.1}, `{"errorRate":0}`, Fault{Slow: 2}, false},
		{"latency shorthand", Fault{}, `{"latency":"1ms"}`, Fault{Latency: &lat}, false},
		{"unknown key", Fault{}, `{"speed":2}`, Fault{}, true},
		{"negative slow", Fault{}, `{"slow":-1}`, Fault{}, true},
		{"rate above 1", Fault{}, `{"errorRate":1.5}`, Fault{}, true},
		{"status out of range", Fault{}, `{"errorRate":0.5,"errorStatus":99}`, Fault{}, true},
		{"bad latency", Fault{}, `{"latency":"soon"}`, Fault{}, true},
		{"not an object", Fault{}, `[1]`, Fault{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.start
			err := f.Patch([]byte(tt.patch))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if string(mustJSON(f)) != string(mustJSON(tt.start)) {
					t.Errorf("fault changed on error: %s", mustJSON(f))
				}
				return
			}
			if got, want := string(mustJSON(f)), string(mustJSON(tt.want)); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

func TestFaultJSONRoundTrip(t *testing.T) {
	lat := scenarios.DistributionSpec{Type: scenarios.DistLognormal, Median: 2 * time.Millisecond, P99: 9 * time.Millisecond}
	f := Fault{Latency: &lat, Slow: 1.5, ErrorRate: 0.25, ErrorStatus: 502, Hang: true}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var g Fault
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if string(mustJSON(g)) != string(b) {
		t.Errorf("round trip: %s became %s", b, mustJSON(g))
	}
}

func TestFaultEffects(t *testing.T) {
	tests := []struct {
		name       string
		f          Fault
		base       float64
		st, wantST time.Duration
		wantRate   float64
		wantStatus int
	}{
		{"healthy", Fault{}, 0.1, 10 * time.Millisecond, 10 * time.Millisecond, 0.1, http.StatusInternalServerError},
		{"slow", Fault{Slow: 3}, 0, 10 * time.Millisecond, 30 * time.Millisecond, 0, http.StatusInternalServerError},
		{"slow 1 is normal", Fault{Slow: 1}, 0, 10 * time.Millisecond, 10 * time.Millisecond, 0, http.StatusInternalServerError},
		{"errors replace", Fault{ErrorRate: 0.5}, 0.1, 0, 0, 0.5, http.StatusInternalServerError},
		{"errors with status", Fault{ErrorRate: 0.5, ErrorStatus: 503}, 0, 0, 0, 0.5, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.scale(tt.st); got != tt.wantST {
				t.Errorf("service time %v, want %v", got, tt.wantST)
			}
			if rate, status := tt.f.errorRate(tt.base); rate != tt.wantRate || status != tt.wantStatus {
				t.Errorf("errors %v %d, want %v %d", rate, status, tt.wantRate, tt.wantStatus)
			}
		})
	}
}
