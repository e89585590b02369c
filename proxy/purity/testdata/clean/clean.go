// Package clean is what a policy may do: take time and randomness as
// arguments. Mentioning time.Now() in a comment is fine.
package clean

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

func Next(now time.Time, r *rand.Rand, a netip.Addr) time.Time {
	_ = rand.New(rand.NewPCG(1, 2))
	_ = a.Is4()
	return now.Add(time.Duration(r.IntN(10)))
}
