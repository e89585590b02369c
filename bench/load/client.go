package load

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
)

// Attempts reports how many retries and hedges the gateway made for the
// request with the given X-Request-Id, and forgets it. Backends build it
// from the gateway's transport.
type Attempts func(requestID string) (retries, hedges int)

// clientTransport carries the load's requests: only to loopback, cancelled
// with the run, and annotating each answer with what Convert and the audit
// need from the request side (the gateway's tries, the client payment id).
type clientTransport struct {
	ctx      context.Context
	next     http.RoundTripper
	attempts Attempts
	remote   bool // Config.AllowRemoteTarget with a target off loopback
}

// newClient builds the HTTP client of a run: keep-alive connections to
// loopback only, each from the source address its request names
// (sourceTransport), no redirects followed, no proxy from the environment,
// and every request bounded by timeout and ended when ctx is. remote lifts
// the loopback restriction (Config.AllowRemoteTarget).
func newClient(ctx context.Context, timeout time.Duration, attempts Attempts, next http.RoundTripper, remote bool) (*http.Client, func()) {
	var tr *sourceTransport
	if next == nil {
		base := loopbackTransport(netip.Addr{})
		if remote {
			base = remoteTransport()
		}
		tr = newSourceTransport(base)
		next = tr
	}
	c := &http.Client{
		Transport:     &clientTransport{ctx: ctx, next: next, attempts: attempts, remote: remote},
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	closeIdle := func() {
		if tr != nil {
			tr.CloseIdleConnections()
		}
	}
	return c, closeIdle
}

// RoundTrip sends req within the run's context as well as its own, so
// that cancelling the run ends every request (vegeta builds its requests
// without one), and annotates the answer.
func (t *clientTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.remote {
		if err := checkLoopback(req.URL.Host); err != nil {
			return nil, err
		}
	}
	release := func() {}
	if t.ctx != nil {
		ctx, cancel := context.WithCancel(req.Context())
		stop := context.AfterFunc(t.ctx, cancel)
		release = func() { stop(); cancel() }
		req = req.WithContext(ctx)
	}
	resp, err := t.next.RoundTrip(req)
	var retries, hedges int
	if t.attempts != nil {
		if id := req.Header.Get(HeaderRequestID); id != "" {
			retries, hedges = t.attempts(id)
		}
	}
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	if retries > 0 {
		resp.Header.Set(headerRetries, strconv.Itoa(retries))
	}
	if hedges > 0 {
		resp.Header.Set(headerHedges, strconv.Itoa(hedges))
	}
	if id := req.Header.Get(fleet.HeaderClientPaymentID); id != "" {
		resp.Header.Set(headerClientID, id)
	}
	return resp, nil
}

// releasingBody releases the request's context when the body is closed.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

// Close closes the body and releases the request's context.
func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// checkLoopback refuses any address that is not on loopback: the bench
// only ever sends traffic to 127.0.0.0/8 or ::1.
func checkLoopback(hostport string) error {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load: refusing to send traffic to %q: only loopback addresses are allowed", hostport)
	}
	return nil
}

// isLoopbackURL reports whether base (from baseURL) is on loopback.
func isLoopbackURL(base string) bool {
	u, err := url.Parse(base)
	return err == nil && checkLoopback(u.Host) == nil
}

// baseURL checks a gateway URL for Config.Target: on loopback unless
// remote is allowed.
func baseURL(s string, remote bool) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("target %q: %w", s, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		if remote {
			return "", fmt.Errorf("target %q: want http://HOST:PORT", s)
		}
		return "", fmt.Errorf("target %q: want http://127.0.0.1:PORT", s)
	}
	if !remote {
		if err := checkLoopback(u.Host); err != nil {
			return "", err
		}
	}
	return u.Scheme + "://" + u.Host + u.Path, nil
}
