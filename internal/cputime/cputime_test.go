package cputime

import (
	"testing"
	"time"
)

// TestSelfGrows: spinning spends CPU, and Self sees it.
func TestSelfGrows(t *testing.T) {
	before := Self()
	if before <= 0 {
		t.Fatalf("Self() = %v, want > 0 in a running process", before)
	}
	x := 0
	for Self()-before < 5*time.Millisecond {
		for i := range 100000 {
			x += i
		}
	}
	if x == 0 {
		t.Fatal("unreachable")
	}
}
