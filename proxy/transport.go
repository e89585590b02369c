package proxy

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/meshbench/meshbench/proxy/breaker"
	"github.com/meshbench/meshbench/proxy/config"
	"github.com/meshbench/meshbench/proxy/h1"
)

// h2cConnsPerHost is how many connections an h2c pool opens to one
// endpoint when connection.maxConnsPerHost does not say.
const h2cConnsPerHost = 1

// upstreamClient is what a cluster sends its tries through: a RoundTripper whose
// idle connections can be closed.
type upstreamClient interface {
	http.RoundTripper
	CloseIdleConnections()
}

// newTransport builds a cluster's connection pool: an http.Transport tuned
// for a proxy (many idle connections per endpoint, no transparent
// decompression, no environment proxy) whose dialer enforces the connect
// timeout and Envoy's max_connections threshold through admission.
//
// Plain-text HTTP/1.1 clusters send their requests through h1.Client, which
// falls back to the Transport for what it does not take; both dial through
// the same admission.
//
// HTTP/2 clusters (h2c, and https when ALPN picks h2) multiplex their tries
// as streams on one connection per endpoint, as a gRPC channel's subchannel
// and Envoy's HTTP/2 pool do: a connection whose server allows no more
// concurrent streams makes new tries wait for a stream
// (StrictMaxConcurrentRequests) rather than open another connection. An
// h2c pool is also capped at h2cConnsPerHost connections per endpoint
// unless connection.maxConnsPerHost says otherwise, which keeps a burst of
// first requests from dialing one connection each before the first
// handshake is done. https pools are not capped by default: a server that
// picks HTTP/1.1 by ALPN needs a connection per concurrent request.
func newTransport(cfg config.ClusterConfig, adm *breaker.Admission, tlsCfg *tls.Config) upstreamClient {
	cc := cfg.Connection
	d := &net.Dialer{Timeout: cc.ConnectTimeout.D(), KeepAlive: cc.KeepAlive.D()}
	dialer := h1.NewDialer(d.DialContext, adm)
	t := &http.Transport{
		DialContext:           dialer.DialContext,
		MaxIdleConns:          cc.MaxIdleConns,
		MaxIdleConnsPerHost:   cc.MaxIdleConnsPerHost,
		MaxConnsPerHost:       cc.MaxConnsPerHost,
		IdleConnTimeout:       cc.IdleConnTimeout.D(),
		TLSHandshakeTimeout:   cc.ConnectTimeout.D(),
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		TLSClientConfig:       tlsCfg,
	}
	var protos http.Protocols
	switch cfg.Protocol {
	case config.ProtocolH2C:
		protos.SetUnencryptedHTTP2(true)
		t.HTTP2 = &http.HTTP2Config{StrictMaxConcurrentRequests: true}
		if cc.MaxConnsPerHost == 0 {
			t.MaxConnsPerHost = h2cConnsPerHost
		}
	case config.ProtocolHTTPS:
		protos.SetHTTP1(true)
		protos.SetHTTP2(true)
		t.HTTP2 = &http.HTTP2Config{StrictMaxConcurrentRequests: true}
	default:
		protos.SetHTTP1(true)
	}
	t.Protocols = &protos
	if cfg.Protocol == config.ProtocolHTTP1 && cc.MaxConnsPerHost == 0 {
		return h1.NewClient(t, dialer, h1.ClientConfig{
			MaxIdleConns:        cc.MaxIdleConns,
			MaxIdleConnsPerHost: cc.MaxIdleConnsPerHost,
			IdleConnTimeout:     cc.IdleConnTimeout.D(),
		})
	}
	return t
}
