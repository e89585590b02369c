package proxy

import (
	"net/http"
	"net/textproto"
	"strings"

	"github.com/meshbench/meshbench/proxy/h1"
)

// hopByHopFields are the fields RFC 9110 §7.6.1 says a proxy must not
// forward even when Connection does not list them (Proxy-Connection,
// Keep-Alive, TE, Transfer-Encoding, Upgrade), plus Proxy-Authenticate and
// Proxy-Authorization, which RFC 9110 §11.7.1-2 scope to the next hop, and
// Trailer, which net/http writes itself from the trailers actually sent.
var hopByHopFields = [...]string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Te",
	"Transfer-Encoding",
	"Upgrade",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Trailer",
}

// removeHopByHop deletes the hop-by-hop fields of a message in place, the one
// place the proxy does so, for requests and responses alike. It follows
// RFC 9110 §7.6.1 (Connection): every field named by a Connection option is
// removed, then Connection itself and the fields that are hop-by-hop
// regardless. As net/http/httputil does, a request's "TE: trailers" is kept:
// it is the one TE value an HTTP/2 upstream accepts and gRPC requires it.
// Upgrades (WebSocket) are therefore not proxied: Upgrade is dropped and the
// request forwarded as a plain one.
func removeHopByHop(h http.Header, request bool) {
	for _, v := range h["Connection"] {
		for opt := range strings.SplitSeq(v, ",") {
			if opt = textproto.TrimString(opt); opt != "" {
				delete(h, http.CanonicalHeaderKey(opt))
			}
		}
	}
	keepTE := request && teTrailers(h["Te"])
	for _, f := range hopByHopFields {
		delete(h, f)
	}
	if keepTE {
		h["Te"] = teTrailersValue
	}
}

var teTrailersValue = []string{"trailers"}

func teTrailers(vs []string) bool {
	for _, v := range vs {
		for opt := range strings.SplitSeq(v, ",") {
			if name, _, _ := strings.Cut(opt, ";"); h1.EqualFoldASCII(textproto.TrimString(name), "trailers") {
				return true
			}
		}
	}
	return false
}
