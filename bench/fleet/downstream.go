package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// callError is a failed downstream call, with the status payments answers
// for it: a 5xx from the callee is passed through as the simulator's
// replicas pass their sidecar's answer through, a broken call is 502, and
// a deadline that passed is 504.
type callError struct {
	callee Role
	status int
	err    error
}

func (e *callError) Error() string { return fmt.Sprintf("%s: %v", e.callee, e.err) }
func (e *callError) Unwrap() error { return e.err }

// caller makes payments' downstream calls: JSON POSTs to a base URL per
// callee, through the configured transport, or over gRPC to the callees
// of Config.GRPCCallees.
type caller struct {
	client  *http.Client
	grpc    *http.Client    // for the callees in byGRPC
	byGRPC  map[Role]bool   // callees called over gRPC
	own     *http.Transport // closed with the service; nil when injected
	ownGRPC *GRPCTransport  // closed with the service; nil without gRPC callees
	base    map[Role]*url.URL
}

// maxAnswer bounds downstream answer bodies.
const maxAnswer = 1 << 20

func newCaller(cfg Config) *caller {
	c := &caller{base: map[Role]*url.URL{}}
	rt := cfg.Transport
	if rt == nil {
		c.own = &http.Transport{
			Proxy:               nil, // downstream addresses are the mesh's, never an environment proxy
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		}
		rt = c.own
	}
	c.client = &http.Client{
		Transport: rt,
		// A redirect between services is a misconfiguration; surface it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if len(cfg.GRPCCallees) > 0 {
		c.ownGRPC = NewGRPCTransport()
		c.grpc = &http.Client{Transport: c.ownGRPC}
		c.byGRPC = map[Role]bool{}
		for _, r := range cfg.GRPCCallees {
			c.byGRPC[r] = true
		}
	}
	for role, s := range map[Role]string{RoleRisk: cfg.RiskURL, RoleFraud: cfg.FraudURL, RoleLedger: cfg.LedgerURL} {
		u, _ := url.Parse(s) // validated
		c.base[role] = u
	}
	return c
}

// paths are the API paths of the callees.
var paths = map[Role]string{
	RoleRisk:   "/v1/risk",
	RoleFraud:  "/v1/fraud",
	RoleLedger: "/v1/ledger/entries",
}

// post sends body to callee's API and returns the status and the answer
// body. Statuses in ok are returned as they are; any other is a callError.
func (c *caller) post(ctx context.Context, callee Role, body []byte, hdr http.Header, ok ...int) (int, []byte, error) {
	return c.do(ctx, http.MethodPost, callee, paths[callee], body, hdr, ok...)
}

// get reads path (escaped) of callee, as post does.
func (c *caller) get(ctx context.Context, callee Role, path string, hdr http.Header, ok ...int) (int, []byte, error) {
	return c.do(ctx, http.MethodGet, callee, path, nil, hdr, ok...)
}

// do makes one call: method on path of callee, with body when not nil.
func (c *caller) do(ctx context.Context, method string, callee Role, path string, body []byte, hdr http.Header, ok ...int) (int, []byte, error) {
	u := *c.base[callee]
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, &callError{callee, http.StatusBadGateway, err}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if budget, ok := formatDeadline(ctx); ok {
		req.Header.Set(HeaderDeadline, budget)
	}
	client := c.client
	if c.byGRPC[callee] {
		// The call's :authority names the callee, as gRPC targets name
		// services in a mesh: a sidecar routes it by that name.
		client, req.Host = c.grpc, string(callee)
	}
	resp, err := client.Do(req)
	if err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, context.DeadlineExceeded) {
			status = http.StatusGatewayTimeout
		}
		return 0, nil, &callError{callee, status, err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, context.DeadlineExceeded) {
			status = http.StatusGatewayTimeout
		}
		return 0, nil, &callError{callee, status, fmt.Errorf("read answer: %w", err)}
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			return resp.StatusCode, b, nil
		}
	}
	status := http.StatusBadGateway
	if resp.StatusCode >= 500 {
		status = resp.StatusCode
	}
	return resp.StatusCode, b, &callError{callee, status, fmt.Errorf("answered %d: %s", resp.StatusCode, bytes.TrimSpace(b))}
}

func (c *caller) close() {
	if c.own != nil {
		c.own.CloseIdleConnections()
	}
	if c.ownGRPC != nil {
		_ = c.ownGRPC.Close()
	}
}
