package h1

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"

	"golang.org/x/net/http2"
)

// writeRecorder is a net.Conn that records each Write as one call and
// reports it on a channel.
type writeRecorder struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
	wrote  chan struct{}
}

func newWriteRecorder() *writeRecorder { return &writeRecorder{wrote: make(chan struct{}, 16)} }

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, bytes.Clone(p))
	w.mu.Unlock()
	w.wrote <- struct{}{}
	return len(p), nil
}

func (w *writeRecorder) Close() error { return nil }

func (w *writeRecorder) calls() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.writes...)
}

// frame is one encoded frame.
func frame(t *testing.T, write func(*http2.Framer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(http2.NewFramer(&b, nil)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func headersFrame(t *testing.T, id uint32, endStream bool) []byte {
	return frame(t, func(f *http2.Framer) error {
		return f.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: []byte{0x88}, EndHeaders: true, EndStream: endStream})
	})
}

func dataFrame(t *testing.T, id uint32, body string) []byte {
	return frame(t, func(f *http2.Framer) error { return f.WriteData(id, true, []byte(body)) })
}

func TestEndsWithOpenHeaders(t *testing.T) {
	h := headersFrame(t, 1, false)
	settingsAck := frame(t, func(f *http2.Framer) error { return f.WriteSettingsAck() })
	for _, tc := range []struct {
		name string
		p    []byte
		want bool
	}{
		{"lone HEADERS", h, true},
		{"after other frames", append(append([]byte{}, settingsAck...), h...), true},
		{"HEADERS ending its stream", headersFrame(t, 1, true), false},
		{"DATA last", append(append([]byte{}, h...), dataFrame(t, 1, "x")...), false},
		{"cut short", h[:len(h)-1], false},
		{"partial frame header", h[:5], false},
		{"empty", nil, false},
		{"HEADERS without END_HEADERS", frame(t, func(f *http2.Framer) error {
			return f.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: []byte{0x88}})
		}), false},
	} {
		if got := endsWithOpenHeaders(tc.p); got != tc.want {
			t.Errorf("%s: endsWithOpenHeaders = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestH2CorkJoinsHeadersAndData: once corked, a lone HEADERS write waits
// for the next write and both go out in one call; without the cork, or
// for a HEADERS frame that ends its stream, every write goes out as it
// comes.
func TestH2CorkJoinsHeadersAndData(t *testing.T) {
	rec := newWriteRecorder()
	g := guardOf(guardH2(rec, nil))
	ctx := context.WithValue(context.Background(), guardKey{}, g)
	h, d := headersFrame(t, 1, false), dataFrame(t, 1, "hello")

	CorkH2(ctx)
	if n, err := g.Write(h); n != len(h) || err != nil {
		t.Fatalf("held write = %d, %v; want %d, nil", n, err, len(h))
	}
	if n, err := g.Write(d); n != len(d) || err != nil {
		t.Fatalf("write after the held one = %d, %v; want %d, nil", n, err, len(d))
	}
	want := append(append([]byte{}, h...), d...)
	if got := rec.calls(); len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("writes = %q, want the two frames in one write", got)
	}

	// Not corked: two writes.
	h3, d3 := headersFrame(t, 3, false), dataFrame(t, 3, "again")
	g.Write(h3)
	g.Write(d3)
	if got := rec.calls(); len(got) != 3 || !bytes.Equal(got[1], h3) || !bytes.Equal(got[2], d3) {
		t.Fatalf("writes without the cork = %q, want one per call", got)
	}

	// Corked, but the HEADERS frame ends its stream: nothing to wait for,
	// and the cork is not spent on it.
	CorkH2(ctx)
	h5 := headersFrame(t, 5, true)
	g.Write(h5)
	if got := rec.calls(); len(got) != 4 || !bytes.Equal(got[3], h5) {
		t.Fatalf("writes = %q, want the stream-ending HEADERS at once", got)
	}
	if !g.w.cork.Load() {
		t.Fatal("the cork was spent on a write it did not hold")
	}
	g.Close()
}

// TestH2CorkTimerSendsHeldHeaders: a held HEADERS frame whose DATA does
// not follow goes out on its own when the hold ends.
func TestH2CorkTimerSendsHeldHeaders(t *testing.T) {
	rec := newWriteRecorder()
	g := guardOf(guardH2(rec, nil))
	ctx := context.WithValue(context.Background(), guardKey{}, g)
	h := headersFrame(t, 1, false)
	CorkH2(ctx)
	g.Write(h)
	<-rec.wrote // the timer's write; the test's own deadline bounds the wait
	if got := rec.calls(); len(got) != 1 || !bytes.Equal(got[0], h) {
		t.Fatalf("writes = %q, want the held HEADERS", got)
	}
	// A write after it goes out alone.
	d := dataFrame(t, 1, "late")
	g.Write(d)
	if got := rec.calls(); len(got) != 2 || !bytes.Equal(got[1], d) {
		t.Fatalf("writes = %q, want the DATA on its own", got)
	}
	g.Close()
}

// TestCorkH2OtherContexts: CorkH2 on a request not served over HTTP/2 by
// this package does nothing.
func TestCorkH2OtherContexts(t *testing.T) {
	CorkH2(context.Background())
}
