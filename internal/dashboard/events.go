package dashboard

import (
	"fmt"
	"net/http"
	"sync"
)

// eventLog is the run's events in order, kept whole so that a browser
// connecting late, or reconnecting, gets the run from its start. A run has
// a few events per job and second of its timeline, so the log stays small.
type eventLog struct {
	mu     sync.Mutex
	events [][]byte      // each one formatted as an SSE message
	wake   chan struct{} // closed and replaced on every append
	closed bool
}

func newEventLog() *eventLog { return &eventLog{wake: make(chan struct{})} }

// append adds one event, formatted as the HTML standard's event stream
// ("event:" and "data:" lines, a blank line), and wakes the readers.
func (l *eventLog) append(event string, data []byte) {
	msg := fmt.Appendf(nil, "event: %s\ndata: %s\n\n", event, data)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.events = append(l.events, msg)
	close(l.wake)
	l.wake = make(chan struct{})
}

// since returns the events from number next on, a channel closed when more
// arrive, and whether the log is closed.
func (l *eventLog) since(next int) ([][]byte, <-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.events[next:], l.wake, l.closed
}

// close ends every stream.
func (l *eventLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.wake)
	}
}

// serveEvents streams the log to one browser: everything so far, then each
// event as it comes, until the browser leaves or the server closes.
func (l *eventLog) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	next := 0
	for {
		events, wake, closed := l.since(next)
		for _, e := range events {
			if _, err := w.Write(e); err != nil {
				return
			}
		}
		next += len(events)
		flusher.Flush()
		if closed {
			return
		}
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		}
	}
}
