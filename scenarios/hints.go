package scenarios

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/meshbench/meshbench/internal/suggest"
)

// didYouMean returns ` (did you mean "x"?)` naming the valid word nearest to
// got, or "" when none is near enough to be a likely typo (suggest.Nearest).
func didYouMean(got string, valid []string) string { return suggest.DidYouMean(got, valid) }

// hintOrList is didYouMean, or the list of valid words when none is near.
func hintOrList(got string, valid []string) string { return suggest.HintOrList(got, valid) }

// article is "an" before a word that starts with a vowel, else "a".
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// isBareNumber reports whether text is a number without a unit ("99.9").
func isBareNumber(text string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	return err == nil
}

// thresholdHint says how to write the SLO bound num (a number without its
// unit) for metric: availability and error_rate are fractions, written as
// a percentage ("99.9%") or a bare number in [0,1]; latencies are
// durations ("99.9ms"); throughput is a rate ("99.9/s"). With no metric
// known it gives all three.
func thresholdHint(metric, num string) string {
	num = strings.TrimSpace(num)
	pct := fmt.Sprintf("did you mean %q?", num+"%")
	if v, err := strconv.ParseFloat(num, 64); err == nil && v >= 0 && v <= 1 {
		pct = fmt.Sprintf("did you mean %q or the number %s?", num+"%", num)
	}
	switch metricKind[metric] {
	case ThresholdFraction:
		return metric + " is a fraction: " + pct
	case ThresholdDuration:
		return fmt.Sprintf(`%s is a latency: did you mean "%sms"?`, metric, num)
	case ThresholdRate:
		return fmt.Sprintf(`%s is a rate: did you mean "%s/s"?`, metric, num)
	}
	return fmt.Sprintf(`write "%s%%" for availability or error_rate, "%sms" for a latency, "%s/s" for throughput`, num, num, num)
}
