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
	case config.ProtocolHTTPS:
		protos.SetHTTP1(true)
		protos.SetHTTP2(true)
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
