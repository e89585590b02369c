package mtls

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestRotationPolicy(t *testing.T) {
	ca := mustCA(t, "", epoch)
	// One hour from epoch, backdated a minute: 61 minutes of life.
	leaf := mustIssue(t, ca, paymentsID, epoch, time.Hour).Leaf
	for _, tc := range []struct {
		name     string
		fraction float64
		at       time.Duration // after epoch
		due      bool
	}{
		{"fresh", 0.5, 0, false},
		{"just before half-life", 0.5, 29*time.Minute + 29*time.Second, false},
		{"at half-life", 0.5, 29*time.Minute + 30*time.Second, true},
		{"after expiry", 0.5, 2 * time.Hour, true},
		{"fraction 0.8", 0.8, 47 * time.Minute, false},
		{"fraction 0.8, due", 0.8, 47*time.Minute + 48*time.Second, true},
		{"invalid fraction means default", 7, 29*time.Minute + 30*time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := RotationPolicy{RenewFraction: tc.fraction}
			if got := p.Due(epoch.Add(tc.at), leaf); got != tc.due {
				t.Fatalf("Due = %v at %v (RenewAt %v)", got, tc.at, p.RenewAt(leaf).Sub(epoch))
			}
		})
	}
}

func TestRotatorTick(t *testing.T) {
	ca := mustCA(t, "", epoch)
	src := NewSource(mustIssue(t, ca, paymentsID, epoch, time.Hour))
	var rotations int
	r := NewRotator(src, &CAIssuer{CA: ca, ID: paymentsID, TTL: time.Hour}, RotationPolicy{})
	r.OnRotate = func(*SVID) { rotations++ }
	first := src.SVID()
	if did, err := r.Tick(epoch.Add(10 * time.Minute)); did || err != nil {
		t.Fatalf("early Tick: %v %v", did, err)
	}
	renewAt := r.Next(epoch)
	if want := epoch.Add(29*time.Minute + 30*time.Second); !renewAt.Equal(want) {
		t.Fatalf("Next = %v, want %v", renewAt, want)
	}
	if did, err := r.Tick(renewAt); !did || err != nil {
		t.Fatalf("due Tick: %v %v", did, err)
	}
	if src.SVID() == first || rotations != 1 {
		t.Fatal("SVID not replaced")
	}
	if !src.SVID().Leaf.NotAfter.Equal(renewAt.Add(time.Hour)) {
		t.Fatalf("new NotAfter %v", src.SVID().Leaf.NotAfter)
	}
	if err := r.Rotate(renewAt); err != nil || rotations != 2 {
		t.Fatalf("Rotate: %v, %d rotations", err, rotations)
	}
}

func TestRotatorFileIssuerRetries(t *testing.T) {
	ca := mustCA(t, "", epoch)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "p.crt"), filepath.Join(dir, "p.key")
	s := mustIssue(t, ca, paymentsID, epoch, time.Hour)
	if err := WriteSVID(s, cert, key); err != nil {
		t.Fatal(err)
	}
	src := NewSource(s)
	r := NewRotator(src, &FileIssuer{CertFile: cert, KeyFile: key}, RotationPolicy{RetryInterval: 10 * time.Second})
	due := r.Next(epoch)
	// The file still holds the current certificate: a failure, retried
	// after RetryInterval.
	if did, err := r.Tick(due); did || err == nil {
		t.Fatalf("Tick with unchanged files: %v %v", did, err)
	}
	if next := r.Next(due); !next.Equal(due.Add(10 * time.Second)) {
		t.Fatalf("Next after failure = %v, want %v", next, due.Add(10*time.Second))
	}
	if did, _ := r.Tick(due.Add(5 * time.Second)); did {
		t.Fatal("retried within the interval")
	}
	renewed := mustIssue(t, ca, paymentsID, due, time.Hour)
	if err := WriteSVID(renewed, cert, key); err != nil {
		t.Fatal(err)
	}
	if did, err := r.Tick(due.Add(10 * time.Second)); !did || err != nil {
		t.Fatalf("Tick after renewal on disk: %v %v", did, err)
	}
	if !src.SVID().Leaf.Equal(renewed.Leaf) || r.Err() != nil {
		t.Fatal("renewed files not picked up")
	}
}

func TestRotatorNextNeverBeforeNow(t *testing.T) {
	ca := mustCA(t, "", epoch)
	leaves := make([]*SVID, 4)
	for i := range leaves {
		leaves[i] = mustIssue(t, ca, paymentsID, epoch, time.Duration(i+1)*time.Minute)
	}
	rapid.Check(t, func(t *rapid.T) {
		s := leaves[rapid.IntRange(0, len(leaves)-1).Draw(t, "leaf")]
		frac := rapid.Float64Range(0.01, 1).Draw(t, "fraction")
		now := epoch.Add(time.Duration(rapid.Int64Range(-int64(time.Hour), int64(time.Hour)).Draw(t, "now")))
		r := NewRotator(NewSource(s), &CAIssuer{CA: ca, ID: paymentsID}, RotationPolicy{RenewFraction: frac})
		next := r.Next(now)
		if next.Before(now) {
			t.Fatalf("Next %v before now %v", next, now)
		}
		if due := (RotationPolicy{RenewFraction: frac}).Due(now, s.Leaf); due != next.Equal(now) {
			t.Fatalf("Due %v but Next %v (now %v)", due, next, now)
		}
		if next.After(s.Leaf.NotAfter) && !next.Equal(now) {
			t.Fatalf("renewal scheduled after expiry")
		}
	})
}

func TestRunnerRenewsWhenDue(t *testing.T) {
	// An SVID issued an hour ago with a two-hour lifetime is at half-life
	// now: the runner renews it on its first pass, without waiting.
	now := time.Now()
	ca := mustCA(t, "", now.Add(-2*time.Hour))
	src := NewSource(mustIssue(t, ca, paymentsID, now.Add(-time.Hour), 2*time.Hour))
	r := NewRotator(src, &CAIssuer{CA: ca, ID: paymentsID, TTL: 2 * time.Hour}, RotationPolicy{})
	rotated := make(chan *SVID, 1)
	r.OnRotate = func(s *SVID) { rotated <- s }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { (&Runner{Rotator: r}).Run(ctx); close(done) }()
	select {
	case s := <-rotated:
		if src.SVID() != s {
			t.Error("source does not hold the renewed SVID")
		}
	case <-time.After(30 * time.Second):
		t.Error("no rotation")
	}
	cancel()
	<-done
}
