package scenarios

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Rate is a rate of events in events per second. It is written as a
// number, a slash and a unit: "500/s", "30/m" (0.5 per second), "7200/h"
// (2 per second); decimals are allowed ("1.5/s"). JSON output is always
// per second ("0.5/s").
type Rate float64

// rateUnits maps each unit to its length in seconds.
var rateUnits = map[string]float64{"s": 1, "m": 60, "h": 3600}

// rateUnitAliases maps spellings people write to the unit meant.
var rateUnitAliases = map[string]string{
	"sec": "s", "second": "s", "seconds": "s", "1s": "s", "rps": "s", "qps": "s",
	"min": "m", "minute": "m", "minutes": "m", "hr": "h", "hour": "h", "hours": "h",
}

// ParseRate parses "N/s", "N/m" or "N/h".
func ParseRate(s string) (Rate, error) {
	if strings.ContainsAny(s, " \t") {
		return 0, rateHint(s, strings.Join(strings.Fields(s), ""))
	}
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		num, unit := splitNumber(s)
		if unit == "" {
			return 0, fmt.Errorf("invalid rate %q: missing unit (did you mean %q?)", s, s+"/s")
		}
		return 0, rateHint(s, num+"/"+strings.TrimPrefix(unit, "per"))
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v != v || v > 1e12 || v < -1e12 {
		return 0, fmt.Errorf("invalid rate %q: %q is not a number", s, num)
	}
	if v < 0 {
		return 0, fmt.Errorf("invalid rate %q: must not be negative", s)
	}
	per, ok := rateUnits[unit]
	if !ok {
		if alias, found := rateUnitAliases[unit]; found {
			return 0, fmt.Errorf("invalid rate %q: unknown unit %q (did you mean %q?)", s, unit, num+"/"+alias)
		}
		return 0, fmt.Errorf("invalid rate %q: unknown unit %q (valid: s, m, h)", s, unit)
	}
	return Rate(v / per), nil
}

// rateHint explains a rate written another way ("500rps", "800 per second"),
// suggesting candidate after normalising its unit, if that is a valid rate.
func rateHint(s, candidate string) error {
	if num, unit, ok := strings.Cut(strings.Replace(candidate, "per", "/", 1), "/"); ok {
		if alias, found := rateUnitAliases[unit]; found {
			unit = alias
		}
		if unit == "rps" || unit == "qps" || unit == "" {
			unit = "s"
		}
		if fixed := num + "/" + unit; validRate(fixed) {
			return fmt.Errorf("invalid rate %q (did you mean %q?)", s, fixed)
		}
	}
	return fmt.Errorf(`invalid rate %q: want N/s, N/m or N/h, such as "500/s"`, s)
}

func validRate(s string) bool {
	_, err := ParseRate(s)
	return err == nil
}

// PerSecond is the rate in events per second.
func (r Rate) PerSecond() float64 { return float64(r) }

// String writes the rate per second, as "500/s".
func (r Rate) String() string { return strconv.FormatFloat(float64(r), 'f', -1, 64) + "/s" }

// MarshalJSON writes the rate as a string such as "500/s".
func (r Rate) MarshalJSON() ([]byte, error) { return json.Marshal(r.String()) }

// UnmarshalJSON reads the rate syntax.
func (r *Rate) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

func (r *Rate) decodeScalar(s scalar) error {
	switch s.kind {
	case kindString:
		v, err := ParseRate(s.text)
		if err != nil {
			return err
		}
		*r = v
		return nil
	case kindInt, kindFloat:
		if s.text == "0" {
			*r = 0
			return nil
		}
		return fmt.Errorf("invalid rate %s: missing unit (did you mean \"%s/s\"?)", s.text, s.text)
	}
	return fmt.Errorf(`expected a rate such as "500/s", got %s`, s.describe())
}
