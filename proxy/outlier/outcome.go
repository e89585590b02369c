package outlier

import "strconv"

// Outcome is what one request to a host came to, as outlier detection sees it.
type Outcome int

const (
	// Success is any response that is not a 5xx; 4xx responses are successes, as
	// in Envoy, because they say nothing about the host's health.
	Success Outcome = iota
	// Error5xx is a 5xx response other than 502, 503 and 504.
	Error5xx
	// GatewayFailure is a 502, 503 or 504 response.
	GatewayFailure
	// LocalOriginFailure is a failure the proxy observed without a response:
	// connect failure, reset or timeout. Unless the Config splits local-origin
	// errors, it counts exactly as a GatewayFailure (Envoy maps connect failures
	// to 503 and timeouts to 504).
	LocalOriginFailure

	numOutcomes
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Error5xx:
		return "error_5xx"
	case GatewayFailure:
		return "gateway_failure"
	case LocalOriginFailure:
		return "local_origin_failure"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// FromStatus classifies an HTTP response status code.
func FromStatus(status int) Outcome {
	switch {
	case status == 502 || status == 503 || status == 504:
		return GatewayFailure
	case status >= 500 && status <= 599:
		return Error5xx
	}
	return Success
}
