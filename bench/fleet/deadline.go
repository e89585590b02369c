package fleet

import (
	"context"
	"strconv"
	"time"
)

// parseDeadline reads X-Meshbench-Deadline-Ms: whole milliseconds, as gRPC's
// grpc-timeout carries a budget rather than a point in time, so that clocks
// need not agree. Absent or malformed: no budget.
func parseDeadline(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

// formatDeadline is the budget left before ctx's deadline, for a downstream
// call; ok is false when ctx has none. A budget below 1ms is sent as 1 so
// that it is not read as none.
func formatDeadline(ctx context.Context) (string, bool) {
	dl, ok := ctx.Deadline()
	if !ok {
		return "", false
	}
	ms := time.Until(dl).Milliseconds()
	return strconv.FormatInt(max(ms, 1), 10), true
}
