package ratelimit_test

import (
	"fmt"
	"time"

	"github.com/meshbench/meshbench/proxy/ratelimit"
)

func ExampleNew() {
	lim, err := ratelimit.New(ratelimit.Config{Type: "token_bucket", Rate: 10, Burst: 2})
	if err != nil {
		panic(err)
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) // the caller's clock: virtual or time.Now()
	for range 3 {
		fmt.Printf("%+v\n", lim.Allow(start))
	}
	fmt.Printf("%+v\n", lim.Allow(start.Add(100*time.Millisecond)))
	// Output:
	// {Allowed:true RetryAfter:0s}
	// {Allowed:true RetryAfter:0s}
	// {Allowed:false RetryAfter:100ms}
	// {Allowed:true RetryAfter:0s}
}

func ExampleKeyed() {
	perClient, err := ratelimit.NewKeyed(ratelimit.Config{
		Type: "sliding_window", Limit: 2, Window: time.Second, MaxKeys: 10000,
	})
	if err != nil {
		panic(err)
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, ip := range []string{"10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"} {
		d := perClient.Allow(now, ip)
		fmt.Println(ip, d.Allowed, d.RetryAfter)
	}
	// Output:
	// 10.0.0.1 true 0s
	// 10.0.0.1 true 0s
	// 10.0.0.1 false 1.5s
	// 10.0.0.2 true 0s
}

func ExampleAdaptiveConcurrency() {
	lim, err := ratelimit.NewConcurrencyLimiter(ratelimit.Config{Type: "adaptive_concurrency", MinLimit: 3, MaxLimit: 200})
	if err != nil {
		panic(err)
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if lim.Acquire(now) {
		// ... forward the request; when it completes:
		latency := 12 * time.Millisecond
		lim.Release(now.Add(latency), latency, true)
	}
	fmt.Println(lim.Limit()) // pinned to MinLimit while the first minRTT is measured
	// Output: 3
}
