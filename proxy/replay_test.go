package proxy

import (
	"errors"
	"io"
	"testing"
)

// chunks is a client body that hands out one chunk per read, when the
// test sends it, as a client stream does.
type chunks struct {
	ch chan string
}

func (c *chunks) Read(p []byte) (int, error) {
	s, ok := <-c.ch
	if !ok {
		return 0, io.EOF
	}
	return copy(p, s), nil
}

func readN(t *testing.T, r io.Reader, n int) string {
	t.Helper()
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return string(buf)
}

// Tries read the body as the client sends it; a later try gets it from
// its first byte; a try that needs a byte past the limit owns the rest,
// which is claimed once, and the others then fail rather than end early.
func TestReplayBody(t *testing.T) {
	src := &chunks{ch: make(chan string)}
	b := newReplayBody(src, 8)
	defer b.close()
	r1 := b.reader(1)
	go func() { src.ch <- "abcd" }()
	if got := readN(t, r1, 4); got != "abcd" {
		t.Fatalf("try 1 read %q", got)
	}
	r2 := b.reader(2)
	if got := readN(t, r2, 4); got != "abcd" {
		t.Fatalf("try 2 replayed %q", got)
	}
	go func() { src.ch <- "efgh" }()
	if got := readN(t, r2, 4); got != "efgh" {
		t.Fatalf("try 2 read %q", got)
	}
	if got := readN(t, r1, 4); got != "efgh" {
		t.Fatalf("try 1 read %q from the buffer", got)
	}
	if _, ok := b.claim(); ok {
		t.Fatal("claimed within the limit")
	}
	// The buffer is full: the next bytes are try 1's alone.
	go func() { src.ch <- "ijkl" }()
	if got := readN(t, r1, 4); got != "ijkl" {
		t.Fatalf("try 1 read %q past the limit", got)
	}
	if id, ok := b.claim(); !ok || id != 1 {
		t.Fatalf("claim %d %v, want try 1", id, ok)
	}
	if _, err := r2.Read(make([]byte, 4)); !errors.Is(err, errReplayOverflow) {
		t.Fatalf("try 2 past the buffer: %v", err)
	}
	r3 := b.reader(3)
	if got := readN(t, r3, 8); got != "abcdefgh" {
		t.Fatalf("try 3 read %q", got)
	}
	close(src.ch)
	if _, err := r3.Read(make([]byte, 4)); !errors.Is(err, errReplayOverflow) {
		t.Fatalf("try 3 at the end of a prefix: %v, want an error, not the end", err)
	}
	if n, err := r1.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("try 1 at the end: %d, %v", n, err)
	}
}

// A body of exactly the limit stays replayable; closing a try's reader
// ends its wait at once although the client sends nothing.
func TestReplayBodyExactAndClose(t *testing.T) {
	src := &chunks{ch: make(chan string)}
	b := newReplayBody(src, 4)
	r1 := b.reader(1)
	go func() { src.ch <- "abcd"; close(src.ch) }()
	if got, err := io.ReadAll(r1); err != nil || string(got) != "abcd" {
		t.Fatalf("read %q, %v", got, err)
	}
	if _, ok := b.claim(); ok {
		t.Fatal("a body of exactly the limit was claimed")
	}
	if got, err := io.ReadAll(b.reader(2)); err != nil || string(got) != "abcd" {
		t.Fatalf("replayed %q, %v", got, err)
	}
	b.close()

	idle := &chunks{ch: make(chan string)}
	b = newReplayBody(idle, 4)
	r := b.reader(1)
	done := make(chan error)
	go func() {
		_, err := r.Read(make([]byte, 4))
		done <- err
	}()
	r.Close()
	if err := <-done; !errors.Is(err, errReplayClosed) {
		t.Fatalf("closed read: %v", err)
	}
	b.close()
	close(idle.ch) // the pump, in its read, returns
}

// A try whose answer is forwarded owns the rest: nothing more is kept.
func TestReplayBodyCommitTo(t *testing.T) {
	src := &chunks{ch: make(chan string)}
	b := newReplayBody(src, 64)
	defer b.close()
	r1, r2 := b.reader(1), b.reader(2)
	b.commitTo(2)
	go func() { src.ch <- "abcd" }()
	if got := readN(t, r2, 4); got != "abcd" {
		t.Fatalf("read %q", got)
	}
	if _, err := r1.Read(make([]byte, 4)); !errors.Is(err, errReplayOverflow) {
		t.Fatalf("the other try: %v", err)
	}
	b.mu.Lock()
	kept := len(b.buf)
	b.mu.Unlock()
	if kept != 0 {
		t.Fatalf("%d bytes kept after the commit", kept)
	}
	if _, ok := b.claim(); ok {
		t.Fatal("commitTo claimed")
	}
	close(src.ch)
}
