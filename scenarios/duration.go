package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Durations are written in Go syntax ("250ms", "1m30s", "200µs" or "200us").
// They are never negative. A bare 0 is accepted; any other number needs a
// unit, because "5" might mean seconds or milliseconds.

// durationUnits are the units time.ParseDuration accepts, in the order
// messages list them.
var durationUnits = []string{"ns", "us", "µs", "ms", "s", "m", "h"}

// unitAliases maps spellings people write to the unit Go wants.
var unitAliases = map[string]string{
	"sec": "s", "secs": "s", "second": "s", "seconds": "s",
	"min": "m", "mins": "m", "minute": "m", "minutes": "m",
	"hr": "h", "hrs": "h", "hour": "h", "hours": "h",
	"msec": "ms", "msecs": "ms", "millis": "ms", "millisecond": "ms", "milliseconds": "ms",
	"usec": "us", "micros": "us", "microsecond": "us", "microseconds": "us",
	"nsec": "ns", "nanos": "ns", "nanosecond": "ns", "nanoseconds": "ns",
	"d": "h", "day": "h", "days": "h", // hinted as hours: "2d" → "48h"
}

// parseDuration parses a non-negative Go duration, explaining mistakes.
func parseDuration(s string) (time.Duration, error) {
	if strings.ContainsAny(s, " \t") {
		joined := strings.Join(strings.Fields(s), "")
		if fixed, ok := fixDuration(joined); ok {
			return 0, fmt.Errorf("invalid duration %q (did you mean %q?)", s, fixed)
		}
		return 0, fmt.Errorf(`invalid duration %q: want a number and a unit without spaces, such as "250ms"`, s)
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	d, err := time.ParseDuration(s)
	if err == nil {
		return d, nil
	}
	return 0, explainDuration(s)
}

// explainDuration says what is wrong with a string time.ParseDuration rejected.
func explainDuration(s string) error {
	num, unit := splitNumber(s)
	switch {
	case num == "":
		return fmt.Errorf(`invalid duration %q: want a number and a unit, such as "250ms" or "1m30s"`, s)
	case unit == "":
		return fmt.Errorf(`invalid duration %q: missing unit (did you mean "%sms" or "%ss"?)`, s, num, num)
	}
	// Find the first unit Go does not know: "1m30secs" fails at "secs".
	for rest := s; rest != ""; {
		num, tail := splitNumber(rest)
		u, next := splitUnit(tail)
		if num == "" || u == "" {
			break
		}
		if !slices.Contains(durationUnits, u) {
			return unknownUnit(s, num, u)
		}
		rest = next
	}
	return fmt.Errorf(`invalid duration %q: want a number and a unit, such as "250ms" or "1m30s"`, s)
}

// fixDuration returns s if it is a valid duration, or s with its unit
// aliases replaced ("5seconds" → "5s") if that is.
func fixDuration(s string) (string, bool) {
	if _, err := time.ParseDuration(s); err == nil {
		return s, true
	}
	num, unit := splitNumber(s)
	if alias, ok := unitAliases[unit]; ok && num != "" {
		if fixed := num + alias; alias != "h" || strings.HasPrefix(unit, "h") {
			_, err := time.ParseDuration(fixed)
			return fixed, err == nil
		}
	}
	return "", false
}

// unknownUnit explains an unknown duration unit u that follows num in s.
func unknownUnit(s, num, u string) error {
	alias, ok := unitAliases[u]
	if !ok {
		return fmt.Errorf("invalid duration %q: unknown unit %q%s", s, u, hintOrList(u, durationUnits))
	}
	fixed := strings.Replace(s, num+u, num+alias, 1)
	if alias == "h" && u != "hr" && u != "hrs" && u != "hour" && u != "hours" { // days
		if n, err := strconv.ParseFloat(num, 64); err == nil {
			fixed = strings.Replace(s, num+u, strconv.FormatFloat(n*24, 'f', -1, 64)+"h", 1)
		}
	}
	return fmt.Errorf("invalid duration %q: unknown unit %q (did you mean %q?)", s, u, fixed)
}

// splitNumber splits a leading decimal number from the rest of s.
func splitNumber(s string) (num, rest string) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// splitUnit splits a leading unit (anything up to the next number) from s.
func splitUnit(s string) (unit, rest string) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r >= '0' && r <= '9') || r == '.' })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// secondsToDuration converts seconds to a Duration, saturating at the
// largest Duration (about 292 years) instead of overflowing; heavy-tailed
// distributions do produce such samples. NaN and negative values give 0.
func secondsToDuration(s float64) time.Duration {
	const maxSeconds = float64(math.MaxInt64) / 1e9
	switch {
	case s >= maxSeconds:
		return math.MaxInt64
	case s > 0:
		return time.Duration(s * 1e9)
	}
	return 0
}

// decodeDuration reads a duration-typed scalar.
func decodeDuration(s scalar) (time.Duration, error) {
	switch s.kind {
	case kindString:
		return parseDuration(s.text)
	case kindInt, kindFloat:
		if s.text == "0" {
			return 0, nil
		}
		return 0, fmt.Errorf(`invalid duration %s: missing unit (did you mean "%sms" or "%ss"?)`, s.text, s.text, s.text)
	}
	return 0, fmt.Errorf(`expected a duration such as "250ms", got %s`, s.describe())
}
