package fleet

import (
	"container/list"
	"context"
	"errors"
	"sync"
)

// errKeyReused refuses a key sent again with a different payment, as the
// IETF draft's 422.
var errKeyReused = errors.New("idempotency key reused with a different payment")

// answer is a stored final answer: the status first sent, its body, and
// the Location of the payment when it can be read back (approved).
type answer struct {
	status   int
	body     []byte
	location string
}

// idemStore remembers the answers of processed keys, bounded to capacity
// completed keys (the least recently used is forgotten first), and
// makes requests with a key in progress wait for it. Only final answers
// are stored: a failed attempt is forgotten, so the next attempt with its
// key processes the payment again.
type idemStore struct {
	mu       sync.Mutex
	capacity int
	keys     map[string]*idemEntry
	done     *list.List // of *idemEntry, completed, oldest first
}

type idemEntry struct {
	key   string
	fp    [32]byte
	ready chan struct{} // closed when the attempt in progress ends
	ans   *answer       // nil while in progress
	elem  *list.Element // in done, once completed
}

func newIdemStore(capacity int) *idemStore {
	return &idemStore{capacity: capacity, keys: map[string]*idemEntry{}, done: list.New()}
}

// begin looks key up. A completed key returns its answer. A key in
// progress is waited for (until ctx ends) and looked up again. An unknown
// key makes the caller its processor: finish must then be called with the
// final answer, or nil when the attempt failed. A key whose payment
// fingerprint differs is errKeyReused.
func (s *idemStore) begin(ctx context.Context, key string, fp [32]byte) (ans *answer, finish func(*answer), err error) {
	for {
		s.mu.Lock()
		e := s.keys[key]
		if e == nil {
			e = &idemEntry{key: key, fp: fp, ready: make(chan struct{})}
			s.keys[key] = e
			s.mu.Unlock()
			return nil, func(a *answer) { s.finish(e, a) }, nil
		}
		if e.fp != fp {
			s.mu.Unlock()
			return nil, nil, errKeyReused
		}
		if e.ans != nil {
			s.done.MoveToBack(e.elem)
			s.mu.Unlock()
			return e.ans, nil, nil
		}
		ready := e.ready
		s.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

func (s *idemStore) finish(e *idemEntry, a *answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer close(e.ready)
	if a == nil {
		delete(s.keys, e.key)
		return
	}
	e.ans = a
	e.elem = s.done.PushBack(e)
	for s.done.Len() > s.capacity {
		old := s.done.Remove(s.done.Front()).(*idemEntry)
		delete(s.keys, old.key)
	}
}

// len is the number of keys known, completed or in progress.
func (s *idemStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}
