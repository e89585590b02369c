package balancer

import (
	"strings"
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	want := []string{"round_robin", "weighted_round_robin", "random", "least_request", "peak_ewma", "ring_hash", "maglev", "ip_hash"}
	got := Names()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if Names()[0] != "round_robin" {
		t.Fatal("Names returned the registry itself")
	}
	for _, name := range want {
		if _, err := New(Config{Type: name}); err != nil {
			t.Errorf("New(%q): %v", name, err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error
	}{
		{"unknown type lists valid names", Config{Type: "fastest"}, `unknown type "fastest" (valid: round_robin, weighted_round_robin, random, least_request, peak_ewma, ring_hash, maglev, ip_hash)`},
		{"empty type", Config{}, `unknown type ""`},
		{"one choice", Config{Type: "least_request", Choices: 1}, "balancer least_request: choices 1: must be at least 2"},
		{"negative bias", Config{Type: "least_request", ActiveRequestBias: -1}, "active request bias -1"},
		{"negative decay", Config{Type: "peak_ewma", DecayTime: -time.Second}, "decay time -1s"},
		{"negative default rtt", Config{Type: "peak_ewma", DefaultRTT: -time.Millisecond}, "default RTT -1ms"},
		{"ring min above max", Config{Type: "ring_hash", MinRingSize: 4096, MaxRingSize: 1024}, "ring size 4096..1024"},
		{"table not prime", Config{Type: "maglev", TableSize: 65536}, "table size 65536: must be a prime"},
		{"table too large", Config{Type: "maglev", TableSize: 5000087}, "must be a prime no larger than 5000011"},
		{"negative window", Config{Type: "round_robin", SlowStart: SlowStart{Window: -time.Second}}, "slow start window -1s"},
		{"negative aggression", Config{Type: "round_robin", SlowStart: SlowStart{Aggression: -1}}, "aggression -1"},
		{"min weight above 100", Config{Type: "round_robin", SlowStart: SlowStart{MinWeightPercent: 150}}, "min weight percent 150"},
		{"negative overprovisioning", Config{Type: "random", Locality: Locality{OverprovisioningFactor: -1}}, "overprovisioning factor -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New(%+v) error = %v, want it to contain %q", tt.cfg, err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	b := mustNew(t, Config{Type: "peak_ewma"})
	got := b.(*pool).cfg
	want := Config{
		Type: "peak_ewma", Choices: 2, ActiveRequestBias: 1, DecayTime: 10 * time.Second,
		MinRingSize: 1024, MaxRingSize: 8 << 20, TableSize: 65537,
		SlowStart: SlowStart{Aggression: 1, MinWeightPercent: 10},
		Locality:  Locality{OverprovisioningFactor: 1.4},
	}
	if got != want {
		t.Fatalf("defaults = %+v, want %+v", got, want)
	}
}

func TestEmptyBalancer(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			b := mustNew(t, Config{Type: name})
			if _, err := b.Pick(epoch, 1, newRand(1)); err != ErrNoEndpoint {
				t.Fatalf("Pick before Update: err = %v, want ErrNoEndpoint", err)
			}
			b.Update(epoch, endpoints(3))
			for _, id := range []string{"e0", "e1", "e2"} {
				b.SetAvailable(epoch, id, false)
			}
			if _, err := b.Pick(epoch, 1, newRand(1)); err != ErrNoEndpoint {
				t.Fatalf("Pick with all unavailable: err = %v, want ErrNoEndpoint", err)
			}
			b.Update(epoch, nil)
			if _, err := b.Pick(epoch, 1, newRand(1)); err != ErrNoEndpoint {
				t.Fatalf("Pick after emptying: err = %v, want ErrNoEndpoint", err)
			}
			var zero Pick
			zero.Done(epoch, time.Millisecond, nil) // must not panic
			if zero.Endpoint() != (Endpoint{}) {
				t.Fatal("zero Pick has an endpoint")
			}
		})
	}
}
