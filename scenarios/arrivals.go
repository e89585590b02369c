package scenarios

// ArrivalStream is the second word of the PCG seed of every Poisson
// arrival stream: it tells those streams apart from the other streams a
// run's seed seeds.
const ArrivalStream = 0x706f6973736f6e // "poisson"

// ArrivalSeed is the first word of the PCG seed of the Poisson arrivals of
// workload i (its index in Plan.Load) in a run seeded with seed. The load
// generator's pacer (bench/load) and the simulator (sim) both draw the
// workload's arrivals from rand.NewPCG(ArrivalSeed(seed, i),
// ArrivalStream), the same draws in the same order (an exponential gap at
// the peak rate, then the thinning draw, for every candidate), so that a
// run offers the same arrivals on every backend: an overloaded scenario's
// backlog, which a few more arrivals in one second can double, is then
// the same on both sides.
func ArrivalSeed(seed uint64, i int) uint64 { return seed ^ splitmix(uint64(i)+1) }

// splitmix is SplitMix64's finaliser.
func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
