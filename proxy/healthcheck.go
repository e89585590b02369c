package proxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/meshbench/meshbench/proxy/config"
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
	var ok bool
	if g := c.cfg.HealthCheck; g != nil && g.Type == config.HealthCheckGRPC {
		ok = c.probeGRPC(ctx, addr, g.Service, hc.Timeout)
	} else {
		ok = c.probeOnce(ctx, addr, hc.Path, hc.Timeout)
	}
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

// healthCheckPath is the gRPC health protocol's method.
const healthCheckPath = healthpb.Health_Check_FullMethodName

// probeGRPC asks one endpoint the gRPC health protocol's
// grpc.health.v1.Health/Check about service, as Envoy's gRPC health
// checker: healthy is an answer with grpc-status OK whose
// HealthCheckResponse says SERVING; UNIMPLEMENTED (no health service),
// NOT_FOUND (an unknown service), NOT_SERVING, a timeout or a broken
// answer are not. The call is made by hand over the cluster's own HTTP/2
// pool (one message each way), so that it shares the connections the
// requests use and their TLS, rather than a grpc-go ClientConn of its own.
func (c *cluster) probeGRPC(ctx context.Context, addr, service string, timeout time.Duration) bool {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msg, err := proto.Marshal(&healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return false
	}
	frame := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:5], uint32(len(msg)))
	copy(frame[5:], msg)
	req, err := http.NewRequestWithContext(pctx, http.MethodPost, c.scheme+"://"+addr+healthCheckPath, bytes.NewReader(frame))
	if err != nil {
		return false
	}
	req.Header["Content-Type"] = grpcContentType
	req.Header["Te"] = teTrailersValue
	req.Header["User-Agent"] = []string{"meshbench-health-check"}
	req.Header[headerGRPCTimeout] = []string{grpcTimeoutValue(timeout)}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return false
	}
	// grpc-status is in the head of a trailers-only answer, else in the
	// trailers; it must be there, and OK.
	vs := resp.Header[headerGRPCStatus]
	if len(vs) == 0 {
		vs = resp.Trailer[headerGRPCStatus]
	}
	if len(vs) != 1 || vs[0] != "0" || len(body) < 5 || body[0] != 0 {
		return false
	}
	n := binary.BigEndian.Uint32(body[1:5])
	if uint64(n) != uint64(len(body)-5) {
		return false
	}
	var hr healthpb.HealthCheckResponse
	if err := proto.Unmarshal(body[5:], &hr); err != nil {
		return false
	}
	return hr.GetStatus() == healthpb.HealthCheckResponse_SERVING
}
