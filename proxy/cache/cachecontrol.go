package cache

import (
	"strings"
	"time"
)

// directives are the Cache-Control directives of a message (RFC 9111 §5.2):
// lower-cased name to unquoted value ("" when the directive has none).
// When a directive repeats, the first occurrence counts (§4.2.1).
type directives map[string]string

// maxDelta is the largest delta-seconds a cache must honour; larger values
// and overflows count as 2^31 seconds (RFC 9111 §1.2.2).
const maxDelta = 1 << 31

// parseCacheControl parses the Cache-Control field lines values:
// comma-separated directives, each a token optionally followed by "=" and
// a token or a quoted-string (whose commas do not separate directives and
// whose backslash escapes are removed). Malformed parts are skipped.
func parseCacheControl(values []string) directives {
	if len(values) == 0 {
		return nil
	}
	d := directives{}
	for _, v := range values {
		for len(v) > 0 {
			var name, val string
			name, val, v = nextDirective(v)
			if name == "" {
				continue
			}
			if _, dup := d[name]; !dup {
				d[name] = val
			}
		}
	}
	return d
}

// nextDirective consumes one directive of s and returns it and the rest
// after the next separating comma.
func nextDirective(s string) (name, val, rest string) {
	s = strings.TrimLeft(s, " \t,")
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	name = strings.ToLower(s[:i])
	s = strings.TrimLeft(s[i:], " \t")
	if strings.HasPrefix(s, "=") {
		s = strings.TrimLeft(s[1:], " \t")
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			j := 1
			closed := false
			for ; j < len(s); j++ {
				c := s[j]
				if c == '\\' && j+1 < len(s) {
					j++
					b.WriteByte(s[j])
					continue
				}
				if c == '"' {
					closed = true
					j++
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return "", "", ""
			}
			val, s = b.String(), s[j:]
		} else {
			k := 0
			for k < len(s) && isTokenChar(s[k]) {
				k++
			}
			val, s = s[:k], s[k:]
		}
	}
	// Anything up to the next comma that is not part of the directive makes
	// it malformed.
	s = strings.TrimLeft(s, " \t")
	if s != "" && s[0] != ',' {
		if c := strings.IndexByte(s, ','); c >= 0 {
			return "", "", s[c:]
		}
		return "", "", ""
	}
	return name, val, s
}

// isTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (d directives) has(name string) bool {
	_, ok := d[name]
	return ok
}

// seconds returns a delta-seconds directive (RFC 9111 §1.2.2): present
// reports whether it is there, ok whether its value is valid.
func (d directives) seconds(name string) (dur time.Duration, present, ok bool) {
	v, present := d[name]
	if !present {
		return 0, false, false
	}
	if v == "" {
		return 0, true, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, true, false
		}
		if n < maxDelta {
			n = min(n*10+int64(c-'0'), maxDelta)
		}
	}
	return time.Duration(n) * time.Second, true, true
}
