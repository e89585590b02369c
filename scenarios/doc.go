// Package scenarios loads, validates and resolves meshbench scenario files
// (format v1: apiVersion meshbench/v1, kind Scenario).
//
// A scenario file describes a payment fleet (gateway, services, calls between
// them, network), the load offered to it, the faults injected, the SLOs, and
// the gateway/mesh policies to compare as variants. [Load] and [LoadBytes]
// read one strictly: unknown keys, wrong types, bad units, impossible values
// and dangling references are all reported together, each as
// file:line:col: key.path: message, with a "did you mean" hint where a valid
// word is near (see [ValidationError]).
//
// The result is a [Plan]: defaults applied (all of them in defaults.go),
// durations as time.Duration, rates in events per second, one fully merged
// policy per variant, and each variant's load overrides merged into whole
// workloads ([Plan.ForVariant] is the plan a backend runs for a variant).
// A Plan marshals to deterministic JSON that is
// itself a valid scenario, so plan.json loads back with LoadBytes.
//
// Latency and think-time models are [DistributionSpec] values; [DistributionSpec.Build]
// turns one into a [Distribution] whose Sample draws from a caller-supplied
// math/rand/v2 generator without allocating, as the simulator needs.
//
// The shipped scenario library (library/*.yaml) is embedded: see [Library].
package scenarios
