package load

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/meshbench/meshbench/bench"
	"github.com/meshbench/meshbench/bench/dataplane"
	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/proxy/cache"
)

// HeaderReason is where the proxy and the fleet say why they answered an
// error themselves (proxy.HeaderReason, fleet.HeaderReason).
const HeaderReason = fleet.HeaderReason

// Convert turns one vegeta result into the bench's Result: Start from
// epoch, vegeta's latency, the status (0 when no answer came), the Kind
// (see KindOf), the answering instance (none for an answer the gateway's
// cache gave), and the gateway's retries and hedges as the client
// transport noted them.
func Convert(r *vegeta.Result, epoch time.Time) bench.Result {
	out := bench.Result{
		Start:   r.Timestamp.Sub(epoch),
		Latency: r.Latency,
		Status:  int(r.Code),
	}
	reason := ""
	if r.Code != 0 {
		reason = r.Headers.Get(HeaderReason)
		out.Instance = r.Headers.Get(fleet.HeaderInstance)
		if r.Headers.Get(dataplane.HeaderCache) == cache.StatusHit {
			// The gateway's cache answered with a replica's stored
			// answer: no replica worked for it, as the simulator and the
			// local backend (which drops the header on hits) count it.
			// `meshbench proxy` (the kubernetes backend's gateway) keeps
			// the stored header.
			out.Instance = ""
		}
		out.Retries = headerCount(r.Headers, headerRetries)
		out.Hedges = headerCount(r.Headers, headerHedges)
	}
	out.Kind = KindOf(int(r.Code), reason, r.Error)
	return out
}

func headerCount(h http.Header, key string) uint16 {
	v := h.Get(key)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil {
		return 0
	}
	return uint16(n)
}

// KindOf classifies a request's end. With an answer (status > 0) the
// reason the proxy or the fleet gave decides where it has one
// (bench.KindOf), as the simulator files the same outcomes. Without an
// answer the error text does: a deadline or timeout is a timeout, a
// refused connection is refused, a connection reset or closed before the
// answer (EOF, broken pipe) is a reset, and anything else is other.
func KindOf(status int, reason, errText string) bench.Kind {
	if status > 0 {
		return bench.KindOf(status, reason)
	}
	e := strings.ToLower(errText)
	switch {
	case e == "":
		return bench.KindOther
	case strings.Contains(e, "timeout"), strings.Contains(e, "deadline exceeded"):
		return bench.KindTimeout
	case strings.Contains(e, "connection refused"):
		return bench.KindRefused
	case strings.Contains(e, "connection reset"), strings.Contains(e, "broken pipe"),
		strings.Contains(e, "eof"), strings.Contains(e, "server closed"),
		strings.Contains(e, "connection was forcibly closed"), strings.Contains(e, "transport connection broken"):
		return bench.KindReset
	}
	return bench.KindOther
}
