package config

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/meshbench/meshbench/proxy/balancer"
	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/health"
	"github.com/meshbench/meshbench/proxy/outlier"
	"github.com/meshbench/meshbench/proxy/ratelimit"
)

// Streams supplies the random streams a cluster's policies draw from, by
// name (StreamOutlier, StreamConcurrency): each call with a name returns a
// fresh generator for that stream. The proxy derives them from its seed and
// the cluster's name, the simulator from its own named streams, so that a
// run is reproducible and one policy's draws do not shift another's.
type Streams func(name string) *rand.Rand

// Names of the streams a cluster's policies draw from.
const (
	// StreamOutlier is outlier detection's (ejection-time jitter and
	// enforcement percentages).
	StreamOutlier = "outlier"
	// StreamConcurrency is the concurrency limiter's (the adaptive
	// limiter's minimum-RTT jitter).
	StreamConcurrency = "concurrency"
)

// ClusterPolicies are the policy objects of one cluster, as
// ClusterConfig.Policies builds them: fresh state machines, told the time
// by whoever drives them (the proxy's requests and loops, or the
// simulator's clock).
type ClusterPolicies struct {
	// Balancer chooses an endpoint per try.
	Balancer balancer.Balancer
	// Admission holds Envoy's circuit-breaking thresholds.
	Admission *breaker.Admission
	// Breaker is the outcome breaker; nil: none.
	Breaker *breaker.Breaker
	// Outlier is outlier detection; nil: none.
	Outlier *outlier.Detector
	// Concurrency limits the requests in flight to the cluster; nil: none.
	Concurrency ratelimit.ConcurrencyLimiter
	// Health tracks active health checks; nil: none.
	Health *health.Tracker
	// HealthyStatuses are the statuses of a passing probe.
	HealthyStatuses []StatusRange
}

// StatusRange is a range of HTTP statuses, both ends included.
type StatusRange struct {
	Lo, Hi int
}

// Contains reports whether status is in the range.
func (r StatusRange) Contains(status int) bool { return status >= r.Lo && status <= r.Hi }

// Policies builds the cluster's policy objects, with the defaults of
// Defaults applied first; s supplies the random streams of outlier
// detection and the concurrency limiter. Errors are *ConfigErrors with key
// paths relative to the cluster ("balancer", "circuitBreaker", "outlier",
// "healthCheck.expectedStatuses[1]", "concurrency.type", ...), all of them
// joined; see Under. Policies checks only what the policies need; Validate
// checks the rest of a cluster (protocol, endpoints, discovery).
func (cc ClusterConfig) Policies(s Streams) (ClusterPolicies, error) {
	cc = clusterDefaults(cc)
	var p ClusterPolicies
	var errs fieldErrors
	var err error
	if p.Balancer, err = balancer.New(cc.Balancer.balancerConfig()); err != nil {
		errs.add("balancer", err)
	}
	t := cc.Thresholds
	p.Admission = breaker.NewAdmission(breaker.Thresholds{MaxConnections: t.MaxConnections, MaxPending: t.MaxPending, MaxRequests: t.MaxRequests, MaxRetries: t.MaxRetries})
	if bk := cc.CircuitBreaker; bk != nil {
		if p.Breaker, err = breaker.New(breaker.Config{FailureRatio: bk.FailureRatio, MinRequests: bk.MinRequests, ConsecutiveFailures: bk.ConsecutiveFailures,
			Window: bk.Window.D(), Buckets: bk.Buckets, SleepWindow: bk.SleepWindow.D(), HalfOpenProbes: bk.HalfOpenProbes}); err != nil {
			errs.add("circuitBreaker", err)
		}
	}
	if oc := cc.Outlier; oc != nil {
		if p.Outlier, err = outlier.New(oc.detectorConfig(s(StreamOutlier))); err != nil {
			errs.add("outlier", err)
		}
	}
	if hc := cc.HealthCheck; hc != nil {
		if p.Health, err = health.New(health.Config{Interval: hc.Interval.D(), Timeout: hc.Timeout.D(), Jitter: hc.Jitter, InitialJitter: hc.InitialJitter.D(),
			HealthyThreshold: hc.HealthyThreshold, UnhealthyThreshold: hc.UnhealthyThreshold, Path: hc.Path, StartHealthy: hc.StartHealthy}); err != nil {
			errs.add("healthCheck", err)
		}
		for i, st := range hc.ExpectedStatuses {
			r, err := parseStatusRange(st)
			if err != nil {
				errs.add(fmt.Sprintf("healthCheck.expectedStatuses[%d]", i), err)
			}
			p.HealthyStatuses = append(p.HealthyStatuses, r)
		}
	}
	if kc := cc.Concurrency; kc != nil {
		if !ratelimit.IsConcurrency(kc.Type) {
			errs.add("concurrency.type", fmt.Errorf("want concurrency or adaptive_concurrency, got %q", kc.Type))
		} else if p.Concurrency, err = ratelimit.NewConcurrencyLimiter(ratelimit.Config{Type: kc.Type, Limit: kc.Limit, MinLimit: kc.MinLimit, MaxLimit: kc.MaxLimit,
			SampleWindow: kc.SampleWindow.D(), Percentile: kc.Percentile, MinRTTInterval: kc.MinRTTInterval.D(), MinRTTSamples: kc.MinRTTSamples,
			MinRTTJitter: kc.MinRTTJitter, Buffer: kc.Buffer, Rand: s(StreamConcurrency)}); err != nil {
			errs.add("concurrency", err)
		}
	}
	if err := errs.err(); err != nil {
		return ClusterPolicies{}, err
	}
	return p, nil
}

func (bc BalancerConfig) balancerConfig() balancer.Config {
	c := balancer.Config{Type: bc.Type, Choices: bc.Choices, ActiveRequestBias: bc.ActiveRequestBias, DecayTime: bc.DecayTime.D(),
		DefaultRTT: bc.DefaultRTT.D(), MinRingSize: bc.MinRingSize, MaxRingSize: bc.MaxRingSize, TableSize: bc.TableSize}
	if bc.SlowStart != nil {
		c.SlowStart = balancer.SlowStart{Window: bc.SlowStart.Window.D(), Aggression: bc.SlowStart.Aggression, MinWeightPercent: bc.SlowStart.MinWeightPercent}
	}
	if bc.Locality != nil {
		c.Locality = balancer.Locality{Enabled: true, LocalZone: bc.Locality.LocalZone, OverprovisioningFactor: bc.Locality.OverprovisioningFactor}
	}
	return c
}

func (oc *OutlierConfig) detectorConfig(r *rand.Rand) outlier.Config {
	c := outlier.Config{
		Interval: oc.Interval.D(), BaseEjectionTime: oc.BaseEjectionTime.D(), MaxEjectionTime: oc.MaxEjectionTime.D(),
		MaxEjectionTimeJitter: oc.MaxEjectionTimeJitter.D(), MaxEjectionPercent: oc.MaxEjectionPercent, AlwaysEjectOneHost: oc.AlwaysEjectOneHost,
		Consecutive5xx: oc.Consecutive5xx, ConsecutiveGatewayFailure: oc.ConsecutiveGatewayFailure,
		EnforcingConsecutive5xx: oc.EnforcingConsecutive5xx, EnforcingConsecutiveGatewayFailure: oc.EnforcingConsecutiveGatewayFailure,
		SplitExternalLocalOriginErrors: oc.SplitExternalLocalOriginErrors, ConsecutiveLocalOriginFailure: oc.ConsecutiveLocalOriginFailure,
		EnforcingConsecutiveLocalOriginFailure: oc.EnforcingConsecutiveLocalOriginFailure,
		Rand:                                   r,
	}
	if sr := oc.SuccessRate; sr != nil {
		c.SuccessRate = outlier.SuccessRate{StdevFactor: sr.StdevFactor, MinimumHosts: sr.MinimumHosts, RequestVolume: sr.RequestVolume, Enforcing: sr.Enforcing, EnforcingLocalOrigin: sr.EnforcingLocalOrigin}
	}
	if fp := oc.FailurePercentage; fp != nil {
		c.FailurePercentage = outlier.FailurePercentage{Threshold: fp.Threshold, MinimumHosts: fp.MinimumHosts, RequestVolume: fp.RequestVolume, Enforcing: fp.Enforcing, EnforcingLocalOrigin: fp.EnforcingLocalOrigin}
	}
	return c
}

// parseStatusRange reads "200" or "200-299".
func parseStatusRange(s string) (StatusRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return StatusRange{}, fmt.Errorf("bad status %q", s)
	}
	z := a
	if isRange {
		if z, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
			return StatusRange{}, fmt.Errorf("bad status range %q", s)
		}
	}
	if a < 100 || z > 599 || a > z {
		return StatusRange{}, fmt.Errorf("status range %q is not within 100-599", s)
	}
	return StatusRange{a, z}, nil
}
