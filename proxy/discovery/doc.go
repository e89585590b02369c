// Package discovery tells the proxy's clusters which endpoints they have.
//
// A Provider resolves the current endpoint set once (Resolve, so a cluster
// starts populated) and then pushes every change (Watch) until its context
// ends, as Envoy's cluster discovery types do: a static list (Envoy STATIC),
// a YAML file watched for changes with fsnotify (Envoy's filesystem-based
// EDS), DNS A or SRV records polled on an interval (Envoy STRICT_DNS), and a
// small service registry reached over HTTP (Consul's or Eureka's
// register/heartbeat/deregister model, reduced to its core).
//
// The registry is split as the policies are: Store is the in-memory state of
// registered instances, whose expiry is told the time (Register, Heartbeat,
// List and Expire take now), and Server is the HTTP API that wraps a Store and
// reads the clock. Client speaks that API, and Registry is the Provider that
// polls it.
//
// Providers push whole sets, never deltas, and only when the set changed:
// Equal compares two sets after Normalize has sorted them and filled in
// defaults, so the consumer may apply every push as-is.
package discovery
