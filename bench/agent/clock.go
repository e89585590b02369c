package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// clockSamples is how many readings of an agent's clock Drive takes; the
// one with the shortest round trip wins, as in Cristian's algorithm.
const clockSamples = 5

// ClockEstimate is an agent's clock offset from the controller's.
type ClockEstimate struct {
	// Offset is the agent's clock minus the controller's.
	Offset time.Duration
	// Uncertainty bounds the error of Offset: half the round trip of the
	// reading it came from.
	Uncertainty time.Duration
}

// EstimateClock estimates ep's clock offset by Cristian's algorithm: it
// reads the agent's clock (GET /v1/clock) clockSamples times, and for the
// reading with the shortest round trip takes the agent's time T to stand
// for the middle of the round trip [t0, t1] in the controller's clock:
// offset = T − (t0 + t1)/2, wrong by at most (t1 − t0)/2 whatever the
// split of the round trip between the two directions. now is the
// controller's clock (nil: time.Now).
func EstimateClock(ctx context.Context, ep Endpoint, now func() time.Time) (ClockEstimate, error) {
	if now == nil {
		now = time.Now
	}
	best := ClockEstimate{Uncertainty: -1}
	for range clockSamples {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.BaseURL+"/v1/clock", nil)
		if err != nil {
			return ClockEstimate{}, fmt.Errorf("agent %s: clock: %w", ep.Name, err)
		}
		t0 := now()
		resp, err := ep.client().Do(req)
		if err != nil {
			return ClockEstimate{}, fmt.Errorf("agent %s: clock: %w", ep.Name, err)
		}
		var reading clockReading
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		t1 := now()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %s", resp.Status, body)
		}
		if err == nil {
			err = json.Unmarshal(body, &reading)
		}
		if err != nil {
			return ClockEstimate{}, fmt.Errorf("agent %s: clock: %w", ep.Name, err)
		}
		rtt := t1.Sub(t0)
		if best.Uncertainty >= 0 && rtt/2 >= best.Uncertainty {
			continue
		}
		mid := t0.Add(rtt / 2)
		best = ClockEstimate{Offset: time.Unix(0, reading.UnixNS).Sub(mid), Uncertainty: rtt / 2}
	}
	return best, nil
}
