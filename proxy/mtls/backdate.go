package mtls

import "time"

// Backdate is how long before its issuance a certificate of lifetime ttl
// starts (NotBefore), to absorb clock skew between peers: a minute, or a
// tenth of a short lifetime. A renewal policy that counts from issuance
// rather than from NotBefore needs it (RotationPolicy.RenewFraction is of
// NotBefore to NotAfter).
func Backdate(ttl time.Duration) time.Duration { return backdate(ttl) }
