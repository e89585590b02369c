// Package suggest finds the word a user probably meant: the scenario
// loader uses it for keys and values, the CLI for scenario names, backends,
// variants and output formats. One rule everywhere, so that a typo gets
// the same hint whether it is in a file or on the command line.
package suggest

import (
	"fmt"
	"strings"
)

// Nearest finds the valid word closest to got, if one is close enough to
// be a likely typo. Words that differ only in case, '-' and '_' always
// match ("RoundRobin" → "round_robin", "peak-ewma" → "peak_ewma");
// otherwise the edit distance must be at most a third of the word's length
// (and at least 1), the threshold spell checkers commonly use, or the words
// must share a long prefix ("retry" → "retries").
func Nearest(got string, valid []string) (string, bool) {
	folded := fold(got)
	best, bestDist := "", -1
	for _, w := range valid {
		if fold(w) == folded {
			return w, true
		}
		d := Distance(strings.ToLower(got), strings.ToLower(w))
		if bestDist < 0 || d < bestDist {
			best, bestDist = w, d
		}
	}
	limit := max(1, len([]rune(got))/3)
	if bestDist >= 0 && bestDist <= limit {
		return best, true
	}
	// A truncated or extended word ("retry" for "retries"): a long common
	// prefix covering most of the shorter word.
	best, bestLen := "", 0
	for _, w := range valid {
		fw := fold(w)
		n := commonPrefix(folded, fw)
		if n >= 4 && 3*n >= 2*min(len(folded), len(fw)) && n > bestLen {
			best, bestLen = w, n
		}
	}
	if bestLen > 0 {
		return best, true
	}
	return "", false
}

// DidYouMean returns ` (did you mean "x"?)` naming the valid word nearest
// to got, or "" when none is near enough (see Nearest).
func DidYouMean(got string, valid []string) string {
	if w, ok := Nearest(got, valid); ok {
		return fmt.Sprintf(" (did you mean %q?)", w)
	}
	return ""
}

// HintOrList is DidYouMean, or ` (valid: a, b, c)` when no word is near.
func HintOrList(got string, valid []string) string {
	if h := DidYouMean(got, valid); h != "" {
		return h
	}
	if len(valid) == 0 {
		return ""
	}
	return " (valid: " + strings.Join(valid, ", ") + ")"
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// fold lower-cases s and drops '-' and '_', so that spellings of one word
// in different cases (camel, snake, kebab) compare equal.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// Distance is the edit distance between a and b: insertions, deletions,
// substitutions and transpositions of adjacent runes each cost 1 (the
// "optimal string alignment" variant of Damerau–Levenshtein), so that
// "fruad" is one edit from "fraud", as a typist would expect.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1) // row i-2
	prev := make([]int, len(rb)+1)  // row i-1
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
