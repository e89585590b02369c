package fleet

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"pgregory.net/rapid"
)

func fp(s string) [32]byte { return PaymentRequest{Merchant: s}.fingerprint() }

func TestIdemStoreSingleProcessor(t *testing.T) {
	s := newIdemStore(10)
	const n = 32
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		processors int
		answers    = map[string]int{}
	)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			ans, finish, err := s.begin(context.Background(), "k", fp("a"))
			if err != nil {
				t.Error(err)
				return
			}
			if finish != nil {
				mu.Lock()
				processors++
				mu.Unlock()
				ans = &answer{status: 201, body: []byte("first")}
				finish(ans)
			}
			mu.Lock()
			answers[string(ans.body)]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if processors != 1 || answers["first"] != n {
		t.Errorf("%d processors, answers %v; want 1 processor and every answer first", processors, answers)
	}
}

func TestIdemStoreFailureForgotten(t *testing.T) {
	s := newIdemStore(10)
	_, finish, _ := s.begin(context.Background(), "k", fp("a"))
	waiter := make(chan func(*answer))
	go func() {
		_, f, err := s.begin(context.Background(), "k", fp("a"))
		if err != nil {
			t.Error(err)
		}
		waiter <- f
	}()
	finish(nil) // the first attempt failed
	f := <-waiter
	if f == nil {
		t.Fatal("after a failed attempt the waiting request did not become the processor")
	}
	f(&answer{status: 201})
	if ans, f, _ := s.begin(context.Background(), "k", fp("a")); ans == nil || f != nil {
		t.Errorf("after success: answer %v, processor %v", ans, f != nil)
	}
	if _, _, err := s.begin(context.Background(), "k", fp("b")); err != errKeyReused {
		t.Errorf("other payment, same key: %v, want errKeyReused", err)
	}
}

func TestIdemStoreWaiterGivesUp(t *testing.T) {
	s := newIdemStore(10)
	_, finish, _ := s.begin(context.Background(), "k", fp("a"))
	defer finish(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.begin(ctx, "k", fp("a")); err != context.Canceled {
		t.Errorf("waiter with a cancelled context: %v", err)
	}
}

// TestIdemStoreProperties runs random sequences of attempts, one at a time,
// against a model: a key's stored answer is the one it was finished with,
// never more than capacity keys are remembered, and a key is forgotten
// only when capacity others were used after it.
func TestIdemStoreProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		capacity := rapid.IntRange(1, 5).Draw(t, "capacity")
		s := newIdemStore(capacity)
		stored := map[string]int{} // key → status it was finished with
		var order []string         // model LRU, least recent first
		touch := func(k string) {
			for i, o := range order {
				if o == k {
					order = append(order[:i], order[i+1:]...)
					break
				}
			}
			order = append(order, k)
		}
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for i := range steps {
			key := fmt.Sprintf("k%d", rapid.IntRange(0, 7).Draw(t, "key"))
			ok := rapid.Bool().Draw(t, "succeeds")
			ans, finish, err := s.begin(context.Background(), key, fp("p"))
			if err != nil {
				t.Fatal(err)
			}
			want, remembered := stored[key]
			switch {
			case remembered && (ans == nil || ans.status != want):
				t.Fatalf("step %d: %s stored %d, got %v", i, key, want, ans)
			case !remembered && ans != nil:
				t.Fatalf("step %d: %s answered %d though forgotten", i, key, ans.status)
			case remembered:
				touch(key)
				continue
			}
			if !ok {
				finish(nil)
				continue
			}
			finish(&answer{status: 200 + i})
			stored[key] = 200 + i
			touch(key)
			if len(order) > capacity {
				delete(stored, order[0])
				order = order[1:]
			}
			if n := s.len(); n > capacity {
				t.Fatalf("step %d: %d keys remembered, capacity %d", i, n, capacity)
			}
		}
	})
}

func BenchmarkIdemStore(b *testing.B) {
	s := newIdemStore(1 << 16)
	keys := make([]string, 1<<12)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
	}
	p := fp("p")
	ans := &answer{status: 201}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_, finish, _ := s.begin(context.Background(), keys[i%len(keys)], p)
		if finish != nil {
			finish(ans)
		}
	}
}
