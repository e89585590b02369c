package fleet

import (
	"context"
	"errors"
	"testing"
)

func TestAdmission(t *testing.T) {
	a := newAdmission(2, 1)
	entered := make(chan struct{}, 8)
	a.onEnter = func() { entered <- struct{}{} }
	ctx := context.Background()
	for range 2 { // both workers
		if err := a.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan error, 1)
	go func() { got <- a.acquire(ctx) }() // the queue place
	for range 3 {
		<-entered
	}
	if err := a.acquire(ctx); !errors.Is(err, errQueueFull) {
		t.Fatalf("fourth request: %v, want errQueueFull", err)
	}
	a.release() // the queued request takes the worker
	if err := <-got; err != nil {
		t.Fatalf("queued request: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { got <- a.acquire(cctx) }()
	<-entered
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	if n := a.inside.Load(); n != 2 {
		t.Errorf("%d inside after the waiter left, want the 2 being served", n)
	}
	a.release()
	a.release()
	if n := a.inside.Load(); n != 0 || len(a.slots) != 0 {
		t.Errorf("after releasing everything: %d inside, %d workers busy", n, len(a.slots))
	}
}

func TestAdmissionUnlimited(t *testing.T) {
	a := newAdmission(0, 0)
	for range 1000 {
		if err := a.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
