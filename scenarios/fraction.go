package scenarios

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Fraction is a probability or share between 0 and 1 inclusive, written as
// a number (0.999) or a percentage string ("99.9%"). JSON output is the number.
type Fraction float64

// Float64 is the fraction as a plain float64.
func (f Fraction) Float64() float64 { return float64(f) }

func (f *Fraction) decodeScalar(s scalar) error {
	var v float64
	switch s.kind {
	case kindInt, kindFloat:
		n, err := strconv.ParseFloat(s.text, 64)
		if err != nil {
			return fmt.Errorf("invalid fraction %s", s.text)
		}
		v = n
	case kindString:
		n, ok := parsePercent(s.text)
		if !ok {
			return fmt.Errorf(`invalid fraction %q: want a number between 0 and 1 (0.999) or a percentage ("99.9%%")`, s.text)
		}
		v = n
	default:
		return fmt.Errorf(`expected a fraction (0.999 or "99.9%%"), got %s`, s.describe())
	}
	if !(v >= 0 && v <= 1) {
		return fmt.Errorf("fraction %s out of range: must be between 0 and 1 (0%% to 100%%)", s.text)
	}
	*f = Fraction(v)
	return nil
}

var decimalRE = regexp.MustCompile(`^([0-9]*)(?:\.([0-9]+))?$`)

// parsePercent reads "99.9%" as 0.999. It shifts the decimal point in the
// text rather than dividing by 100, so that "99.9%" is exactly the float
// 0.999 and not 0.9990000000000001.
func parsePercent(s string) (float64, bool) {
	num, ok := strings.CutSuffix(s, "%")
	if !ok {
		return 0, false
	}
	return shiftDecimal(num, 2)
}

// shiftDecimal parses the unsigned decimal num divided by 10^places.
func shiftDecimal(num string, places int) (float64, bool) {
	m := decimalRE.FindStringSubmatch(num)
	if m == nil || m[1]+m[2] == "" {
		return 0, false
	}
	intPart := m[1]
	for len(intPart) <= places {
		intPart = "0" + intPart
	}
	cut := len(intPart) - places
	v, err := strconv.ParseFloat(intPart[:cut]+"."+intPart[cut:]+m[2], 64)
	return v, err == nil
}

// Percentile is a quantile strictly between 0 and 1, written as a number
// (0.95), a percentage ("95%") or a percentile name: "p50", "p95", "p99.9",
// and by convention "p999" for 0.999 and "p9999" for 0.9999. 0 means not set.
type Percentile float64

// ParsePercentile reads the forms described at Percentile.
func ParsePercentile(s string) (Percentile, error) {
	var v float64
	var ok bool
	switch {
	case strings.HasSuffix(s, "%"):
		v, ok = parsePercent(s)
	case strings.HasPrefix(s, "p"):
		digits := s[1:]
		if len(digits) > 2 && strings.HasPrefix(digits, "99") && !strings.Contains(digits, ".") {
			v, ok = shiftDecimal(digits, len(digits))
		} else {
			v, ok = shiftDecimal(digits, 2)
		}
	default:
		n, err := strconv.ParseFloat(s, 64)
		v, ok = n, err == nil
	}
	if !ok {
		return 0, fmt.Errorf(`invalid percentile %q: want p95, p99.9, 0.95 or "95%%"`, s)
	}
	if !(v > 0 && v < 1) {
		return 0, fmt.Errorf("percentile %q out of range: must be above 0 and below 1 (p0 to p100 exclusive)", s)
	}
	return Percentile(v), nil
}

// Float64 is the quantile as a plain float64.
func (p Percentile) Float64() float64 { return float64(p) }

func (p *Percentile) decodeScalar(s scalar) error {
	if s.kind != kindString && s.kind != kindInt && s.kind != kindFloat {
		return fmt.Errorf(`expected a percentile (p95, 0.95 or "95%%"), got %s`, s.describe())
	}
	if s.text == "0" {
		*p = 0 // not set
		return nil
	}
	v, err := ParsePercentile(s.text)
	if err != nil {
		return err
	}
	*p = v
	return nil
}
