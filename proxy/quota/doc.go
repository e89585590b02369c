// Package quota is the gateway's per-consumer quota over a renewal period,
// as Kong's rate-limiting plugin counts with its second, minute, hour, day
// and month limits (policy local) and Tyk's quotas renew: every consumer
// may make limit requests per fixed window, the windows aligned to the
// period in UTC (a day window runs from midnight to midnight UTC, a month
// window from the first of a calendar month to the first of the next), and
// a request past the limit is refused until the next window begins.
//
// The package is a pure policy: Quota is told the time and keeps counts,
// it never reads the clock, sleeps, starts goroutines or does I/O. The
// proxy's quota middleware passes time.Now() (or a run's virtual calendar,
// see bench/dataplane.QuotaClock); the simulator passes its virtual time.
package quota
