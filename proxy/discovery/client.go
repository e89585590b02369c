package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client speaks the registry API served by Server.
type Client struct {
	// BaseURL is where the API is mounted, e.g. "http://127.0.0.1:9901/registry".
	BaseURL string
	// HTTP is the client used; nil means http.DefaultClient. For a proxy
	// whose adminAccess allows mutual TLS peers, give it a transport with
	// the workload's SVID (proxy/mtls.ClientConfig).
	HTTP *http.Client
	// Token, when set, is sent as "Authorization: Bearer TOKEN" with every
	// request: a proxy with adminAccess tokens requires it for Register,
	// Heartbeat and Deregister (reads are open).
	Token string
}

// Register registers inst under service and returns it as stored.
func (c *Client) Register(ctx context.Context, service string, inst Instance) (Instance, error) {
	body, err := json.Marshal(inst)
	if err != nil {
		return Instance{}, fmt.Errorf("register %s: %w", service, err)
	}
	var out Instance
	err = c.do(ctx, http.MethodPost, c.path(service, "instances"), body, http.StatusCreated, &out)
	return out, err
}

// Heartbeat renews the instance's TTL.
func (c *Client) Heartbeat(ctx context.Context, service, id string) error {
	return c.do(ctx, http.MethodPut, c.path(service, "instances", id, "heartbeat"), nil, http.StatusOK, nil)
}

// Deregister removes the instance.
func (c *Client) Deregister(ctx context.Context, service, id string) error {
	return c.do(ctx, http.MethodDelete, c.path(service, "instances", id), nil, http.StatusNoContent, nil)
}

// List returns the service's alive instances.
func (c *Client) List(ctx context.Context, service string) ([]Instance, error) {
	var out []Instance
	err := c.do(ctx, http.MethodGet, c.path(service, "instances"), nil, http.StatusOK, &out)
	return out, err
}

func (c *Client) path(service string, parts ...string) string {
	p := strings.TrimSuffix(c.BaseURL, "/") + "/v1/services/" + url.PathEscape(service)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

func (c *Client) do(ctx context.Context, method, u string, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("registry %s %s: %w", method, u, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("registry %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("registry %s %s: read: %w", method, u, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("registry %s %s: %w", method, u, ErrNotFound)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("registry %s %s: status %d: %s", method, u, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("registry %s %s: decode: %w", method, u, err)
		}
	}
	return nil
}
