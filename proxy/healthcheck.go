package proxy

import (
	"context"
	"io"
	"net/http"
	"time"
)

// healthLoop drives the cluster's health.Tracker: it starts a probe for
// every endpoint the tracker says is due and sleeps until the next one is,
// or until a probe reports or endpoints are added. The tracker decides
// everything (thresholds, intervals, jitter); this loop only does the HTTP
// GETs and supplies time.Now(), which, with the outlier sweep, is the only
// place the clock drives a policy without a request.
func (c *cluster) healthLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []string
	for {
		due = c.health.Due(time.Now(), due[:0])
		for _, id := range due {
			c.mu.Lock()
			e := c.eps[id]
			c.mu.Unlock()
			if e == nil {
				continue
			}
			c.wg.Add(1)
			go c.probe(ctx, e.id, e.addr)
		}
		wait := time.Hour
		if next, ok := c.health.NextDue(); ok {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// probe GETs the health path of one endpoint and reports the result.
// A successful probe also returns an ejected endpoint to service, as Envoy's
// successful_active_health_check_uneject_host (on by default).
func (c *cluster) probe(ctx context.Context, id, addr string) {
	defer c.wg.Done()
	hc := c.health.Config()
	ok := c.probeOnce(ctx, addr, hc.Path, hc.Timeout)
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	changed, healthy := c.health.Report(now, id, ok, c.rng)
	if changed {
		c.lc.SetHealthy(now, id, healthy)
	}
	c.mu.Unlock()
	if changed {
		c.env.event(Event{Time: now, Kind: EventHealth, Cluster: c.name, Endpoint: id, Up: healthy})
	}
	if ok {
		c.lc.Uneject(now, id)
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *cluster) probeOnce(ctx context.Context, addr, path string, timeout time.Duration) bool {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequestWithContext(pctx, http.MethodGet, c.scheme+"://"+addr+path, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "meshbench-health-check")
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	for _, r := range c.hcOK {
		if r.Contains(resp.StatusCode) {
			return true
		}
	}
	return false
}
