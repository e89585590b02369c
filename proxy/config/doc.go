// Package config is the proxy's configuration: the YAML format (Config and
// the types below it, whose yaml tags are the file's keys and whose json
// tags are the admin API's /config view), its defaults (Defaults), strict
// loading with errors that name file:line:col and the key path (Load,
// Parse, DecodeYAML, LocateErrors), and validation without starting
// anything (Validate).
//
// It is also the one place where configuration becomes policy objects:
// ClusterConfig.Policies builds a cluster's balancer, admission thresholds,
// outcome breaker, outlier detector, concurrency limiter and health
// tracker; Policy.Policies a route's timeout, retry policy, retry budget,
// hedger and rate limits; Config.SharedPolicies the limiters every gateway
// route shares, which SharedPolicies.Apply puts before a route's own;
// MatchConfig.Compile, RewriteConfig.Compile and
// PathNormalizationConfig.Compile a route's Matcher, Rewriter and
// PathNormalizer. The proxy builds its routes and clusters
// from them, and the simulator builds its gateway and sidecars from them,
// so both run the same objects from the same configuration. That is why
// this package imports neither net/http nor anything that does (a test
// keeps it so): it must stay light enough for the simulator.
//
// Errors are *ConfigError values, joined when there are several. Those of
// the Policies and Compile methods carry key paths relative to what was
// built ("balancer", "retry.budget"); Under puts them under the caller's
// own path ("clusters[2].balancer").
package config
