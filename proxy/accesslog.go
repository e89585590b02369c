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
func logAccess(l *slog.Logger, st *reqState, r *http.Request, d time.Duration) {
	l.LogAttrs(context.Background(), slog.LevelInfo, "access",
		slog.String("request_id", st.id),
		slog.String("client", st.clientIP),
		slog.String("method", r.Method),
		slog.String("host", r.Host),
		slog.String("path", r.URL.Path),
		slog.String("proto", r.Proto),
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

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
