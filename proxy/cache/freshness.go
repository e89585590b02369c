package cache

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// heuristicStatus lists the statuses that are heuristically cacheable (RFC
// 9110 §15.1), less 206, since this cache stores no partial content.
var heuristicStatus = map[int]bool{200: true, 203: true, 204: true, 300: true, 301: true, 308: true, 404: true, 405: true, 410: true, 414: true, 501: true}

// storePolicy is what the cache knows when deciding to store a response.
type storePolicy struct {
	vary       map[string]bool // canonical names of Config.Vary
	defaultTTL time.Duration
}

// lifetime decides whether a response to a request that carried
// Authorization (authorized) may be stored, and for how long it is fresh.
// A "" reason means storable.
func (p *storePolicy) lifetime(status int, h http.Header, authorized bool, now time.Time) (time.Duration, string) {
	cc := parseCacheControl(h.Values("Cache-Control"))
	switch {
	case status < 200 || status == http.StatusPartialContent:
		return 0, "status"
	case cc.has("no-store"):
		return 0, "no-store"
	case cc.has("private"):
		return 0, "private"
	case cc.has("no-cache"):
		return 0, "no-cache"
	case len(h.Values("Set-Cookie")) > 0:
		return 0, "set-cookie"
	case authorized && !cc.has("public") && !cc.has("s-maxage") && !cc.has("must-revalidate"):
		return 0, "authorization"
	}
	if r := p.varyReason(h); r != "" {
		return 0, r
	}
	// §4.2.1: s-maxage, then max-age, then Expires - Date. An invalid value
	// makes the response stale, and a stale response is not worth storing.
	for _, name := range []string{"s-maxage", "max-age"} {
		if d, present, ok := cc.seconds(name); present {
			if !ok || d == 0 {
				return 0, name + " invalid or zero"
			}
			return d, ""
		}
	}
	if exp := h.Values("Expires"); len(exp) > 0 {
		e, err := http.ParseTime(exp[0])
		if err != nil {
			return 0, "expires invalid"
		}
		date := now
		if d, err := http.ParseTime(h.Get("Date")); err == nil {
			date = d
		}
		if !e.After(date) {
			return 0, "expired"
		}
		return e.Sub(date), ""
	}
	if p.defaultTTL > 0 && heuristicStatus[status] && (!authorized || cc.has("public")) {
		return p.defaultTTL, ""
	}
	return 0, "no freshness information"
}

// varyReason returns why a response's Vary prevents storing it, or "".
func (p *storePolicy) varyReason(h http.Header) string {
	for _, line := range h.Values("Vary") {
		for name := range strings.SplitSeq(line, ",") {
			name = strings.TrimSpace(name)
			switch {
			case name == "":
			case name == "*":
				return "vary *"
			case !p.vary[http.CanonicalHeaderKey(name)]:
				return "vary on " + name
			}
		}
	}
	return ""
}

// initialAge is §4.2.3's corrected_initial_age for a response received at
// responseTime to a request sent at requestTime.
func initialAge(h http.Header, requestTime, responseTime time.Time) time.Duration {
	var apparent time.Duration
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		apparent = max(0, responseTime.Sub(d))
	}
	var ageValue time.Duration
	if a, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && a > 0 {
		ageValue = time.Duration(min(a, maxDelta)) * time.Second
	}
	corrected := ageValue + max(0, responseTime.Sub(requestTime))
	return max(apparent, corrected)
}
