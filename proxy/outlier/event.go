package outlier

import (
	"strconv"
	"time"
)

// Reason is the detector that ejected a host, named as Envoy's OutlierEjectionType.
type Reason int

// The reasons, one per Envoy detector. The zero Reason means "never ejected".
const (
	ReasonConsecutive5xx Reason = iota + 1
	ReasonConsecutiveGatewayFailure
	ReasonConsecutiveLocalOriginFailure
	ReasonSuccessRate
	ReasonSuccessRateLocalOrigin
	ReasonFailurePercentage
	ReasonFailurePercentageLocalOrigin

	numReasons
)

// String returns Envoy's name for the ejection type, e.g. "consecutive_5xx".
func (r Reason) String() string {
	switch r {
	case ReasonConsecutive5xx:
		return "consecutive_5xx"
	case ReasonConsecutiveGatewayFailure:
		return "consecutive_gateway_failure"
	case ReasonConsecutiveLocalOriginFailure:
		return "consecutive_local_origin_failure"
	case ReasonSuccessRate:
		return "success_rate"
	case ReasonSuccessRateLocalOrigin:
		return "success_rate_local_origin"
	case ReasonFailurePercentage:
		return "failure_percentage"
	case ReasonFailurePercentageLocalOrigin:
		return "failure_percentage_local_origin"
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Event is a change of a host's ejection: the caller takes the host out of, or puts
// it back into, its load-balancing set.
type Event struct {
	ID      string
	Ejected bool      // true: ejected at At; false: returned to service at At
	Reason  Reason    // why the host was ejected (for a return: why it had been)
	At      time.Time // when the change was made
	// Until is, for an ejection, when the ejection time ends; the host returns at
	// the first Sweep at or after it. Zero for a return.
	Until time.Time
}

// HostStatus is one host's outlier-detection state, for metrics and admin pages.
type HostStatus struct {
	Ejected    bool
	Reason     Reason    // of the current or last ejection; 0 if never ejected
	EjectedAt  time.Time // of the current or last ejection
	Until      time.Time // end of the current ejection time; zero when not ejected
	Ejections  int       // times ejected since the host was added (Envoy's num_ejections)
	Multiplier int       // current ejection-time multiplier
	// SuccessRate is the host's external-origin success rate, in percent, over the
	// last interval, or -1 when the host had too few requests for it to be
	// computed (as Envoy's /clusters success_rate).
	SuccessRate float64
}

// Stats are a Detector's counters, as Envoy's outlier_detection.* statistics.
type Stats struct {
	Active   int               // hosts ejected now (ejections_active)
	Overflow uint64            // ejections refused by MaxEjectionPercent (ejections_overflow)
	Detected map[Reason]uint64 // outliers found, enforced or not (ejections_detected_*)
	Enforced map[Reason]uint64 // ejections made (ejections_enforced_*)
	Returned uint64            // hosts returned to service
}
