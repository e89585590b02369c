package balancer

// The hash balancers need a fast 64-bit hash of endpoint IDs and a mixer for
// request keys. FNV-1a followed by the MurmurHash3 finaliser is short, has no
// dependencies and avalanches well enough for ring and table placement.

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
	golden64    = 0x9e3779b97f4a7c15 // 2^64 / phi, the Weyl-sequence step
)

// Salts that make derived values independent of each other.
const (
	saltZone  = 0x5bd1e9955bd1e995 // locality choice of the hash balancers
	saltAdmit = 0x2545f4914f6cdd1d // slow-start admission of the hash balancers
	saltSkip  = 0xc2b2ae3d27d4eb4f // maglev's second permutation hash
)

// fnv1a folds s into h.
func fnv1a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// fnv1aBytes folds b into h.
func fnv1aBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}

// mix64 is MurmurHash3's fmix64: a bijection on uint64 in which every input
// bit affects every output bit. Keys from callers (which may be small
// integers in the simulator) go through it before they index a ring or table.
func mix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

// hashString hashes s to a well-mixed 64-bit value.
func hashString(s string) uint64 {
	return mix64(fnv1a(fnvOffset64, s))
}

// hashVnode hashes the k-th virtual node of id, as the string id + "_" + k,
// without building that string.
func hashVnode(id string, k int) uint64 {
	h := fnv1a(fnvOffset64, id)
	h ^= '_'
	h *= fnvPrime64
	var digits [20]byte
	i := len(digits)
	for {
		i--
		digits[i] = byte('0' + k%10)
		k /= 10
		if k == 0 {
			break
		}
	}
	return mix64(fnv1aBytes(h, digits[i:]))
}

// unit maps a 64-bit value to [0, 1) using its top 53 bits.
func unit(k uint64) float64 {
	return float64(k>>11) / (1 << 53)
}
