package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// logAccess writes one JSON access-log record per request, in the spirit of
// Envoy's default access log format: what was asked, where it went, how it
// ended and why.
func logAccess(l *slog.Logger, st *reqState, q requestLine, d time.Duration) {
	l.LogAttrs(context.Background(), slog.LevelInfo, "access",
		slog.String("request_id", st.id),
		slog.String("client", st.clientIP),
		slog.String("method", q.method),
		slog.String("host", q.host),
		slog.String("path", q.path),
		slog.String("proto", q.proto),
		slog.Int("status", st.status),
		slog.Int64("bytes", st.written),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("route", st.route),
		slog.String("cluster", st.cluster),
		slog.String("endpoint", st.endpoint),
		slog.Int("attempts", st.attempts),
		slog.String("reason", st.reason),
	)
}

// requestLine is what the access log says of the request itself.
type requestLine struct {
	method, host, path, proto string
}

func lineOf(r *http.Request) requestLine {
	return requestLine{method: r.Method, host: r.Host, path: r.URL.Path, proto: r.Proto}
}
