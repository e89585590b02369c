package load

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// headerSource names, on a request inside the load generator, the source
// address its connection must come from (a consumer's, in 127.0.0.0/8).
// sourceTransport removes it before the request is sent.
const headerSource = "X-Meshbench-Load-Source"

// loopbackTransport is the load's HTTP transport: keep-alive connections
// to loopback only, from local when it is valid (a consumer's source
// address), no proxy from the environment, no compression.
func loopbackTransport(local netip.Addr) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
	}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if err := checkLoopback(addr); err != nil {
				return nil, err
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 16384,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
}

// remoteTransport is the load's HTTP transport to a target off loopback
// (Config.AllowRemoteTarget): loopbackTransport's settings, from the
// machine's own address, to any address.
func remoteTransport() *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 16384,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
}

// sourceTransport sends each request over connections from the source
// address its headerSource names, one transport (and connection pool) per
// address, so that the gateway sees each consumer's own client address;
// requests without it go through base, from the kernel's choice
// (127.0.0.1).
type sourceTransport struct {
	base *http.Transport

	mu  sync.Mutex
	per map[netip.Addr]*http.Transport
}

func newSourceTransport(base *http.Transport) *sourceTransport {
	return &sourceTransport{base: base, per: map[netip.Addr]*http.Transport{}}
}

// RoundTrip implements http.RoundTripper.
func (t *sourceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	src := req.Header.Get(headerSource)
	if src == "" {
		return t.base.RoundTrip(req)
	}
	addr, err := netip.ParseAddr(src)
	if err != nil || !addr.IsLoopback() {
		return nil, fmt.Errorf("load: source address %q is not on loopback", src)
	}
	r2 := *req
	r2.Header = req.Header.Clone()
	r2.Header.Del(headerSource)
	return t.transport(addr).RoundTrip(&r2)
}

// transport is the transport of connections from addr.
func (t *sourceTransport) transport(addr netip.Addr) *http.Transport {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, ok := t.per[addr]
	if !ok {
		tr = loopbackTransport(addr)
		t.per[addr] = tr
	}
	return tr
}

// CloseIdleConnections closes the idle connections of every source.
func (t *sourceTransport) CloseIdleConnections() {
	t.base.CloseIdleConnections()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.per {
		tr.CloseIdleConnections()
	}
}
