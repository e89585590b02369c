package balancer

// Locality configures zone awareness as Envoy's priority failover with an
// overprovisioning factor: endpoints in LocalZone form the preferred level and
// all other zones the fallback level. The local level receives
//
//	min(1, OverprovisioningFactor × available/total in the local zone)
//
// of the traffic, the rest spills to the other zones (where it is spread over
// their available endpoints, so each zone receives traffic in proportion to
// its available capacity), and when the two levels together are less than
// 100% healthy the shares are normalised, as Envoy does. With the default
// factor 1.4 a zone keeps all its traffic until fewer than 1/1.4 ≈ 71.4% of
// its endpoints are available. Envoy's panic threshold is not modelled:
// unavailable endpoints are never picked.
type Locality struct {
	// Enabled turns zone awareness on; when off, all zones are one pool.
	Enabled bool
	// LocalZone is the caller's zone; endpoints whose Zone equals it are
	// preferred. With no endpoints in it, all traffic goes to other zones.
	LocalZone string
	// OverprovisioningFactor scales the local zone's healthy share; zero
	// means Envoy's default 1.4.
	OverprovisioningFactor float64
}

// LocalShare returns the fraction of requests that stay in the local zone
// given how many endpoints there are and how many of them are available in
// the local zone and in all other zones together. The remainder goes to the
// other zones; when nothing is available anywhere it returns 0.
func (l Locality) LocalShare(localAvailable, localTotal, remoteAvailable, remoteTotal int) float64 {
	of := l.OverprovisioningFactor
	if of == 0 {
		of = 1.4
	}
	health := func(avail, total int) float64 {
		if total <= 0 || avail <= 0 {
			return 0
		}
		return min(1, of*float64(avail)/float64(total))
	}
	local, remote := health(localAvailable, localTotal), health(remoteAvailable, remoteTotal)
	switch {
	case local >= 1:
		return 1
	case local+remote == 0:
		return 0
	case local+remote >= 1:
		return local // the local level takes its health, the rest spills
	default:
		return local / (local + remote) // normalised, as Envoy below 100% total health
	}
}
