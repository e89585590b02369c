package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/scenarios"
)

// userStream tells a user's think-time stream apart from other streams.
const userStream = 0x7573657273 // "users"

// runUsers runs a closed-loop workload: users.count goroutines, each
// sending one request, waiting for the answer, thinking, and sending the
// next, from start (plus a first think, which staggers them) until end,
// both measured from the epoch. Every request is bounded by the client's
// timeout, and no request starts at or after end.
func runUsers(ctx context.Context, w scenarios.Workload, q *requests, client *http.Client, rc *recorder, epoch time.Time, start, end time.Duration, seed uint64) error {
	var think scenarios.Distribution
	if w.Users.ThinkTime.Type != "" {
		d, err := w.Users.ThinkTime.Build()
		if err != nil {
			return fmt.Errorf("workload %q: thinkTime: %w", w.Name, err)
		}
		think = d
	}
	var wg sync.WaitGroup
	for u := range w.Users.Count {
		u := q.user(u) // the whole population's user, on a shard
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed^splitmix(uint64(q.index)+userStream), uint64(u)))
			pause := func() time.Duration {
				if think == nil {
					return 0
				}
				return max(think.Sample(rng), 0)
			}
			key := q.userKey(u)
			who := q.name + "/user-" + strconv.Itoa(u)
			next := start + pause()
			for n := uint64(0); next < end; n++ {
				if !sleepUntil(ctx, epoch.Add(next)) {
					return
				}
				var t vegeta.Target
				q.target(&t, q.name+"-u"+strconv.Itoa(u)+"-"+strconv.FormatUint(n, 10), key, who)
				res := do(client, &t, n, time.Now(), wallClock{})
				rc.record(res, q.meta(false, 0))
				next = time.Since(epoch) + pause()
			}
		})
	}
	wg.Wait()
	return nil
}

// sleepUntil waits until t, or returns false when ctx ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
