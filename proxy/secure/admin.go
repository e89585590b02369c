package secure

import (
	"net"
	"net/http"

	"github.com/meshbench/meshbench/proxy/mtls"
)

// adminListener puts the admin listener in Istio's PERMISSIVE mode with
// security.identity: mutual TLS peers, whose SPIFFE IDs
// adminAccess.allowSpiffeIds may allow to write, and plaintext clients,
// who need a token, share one port. Any peer that chains to the bundle
// completes the handshake; the admin API decides per request, so that a
// refusal is answered (403) and counted rather than a failed handshake.
func (l *layer) adminListener(ln net.Listener) (net.Listener, error) {
	id := l.defaultID
	cfg := mtls.ServerConfig(id.src, &mtls.Verifier{Bundle: id.bundle, Clock: l.clock})
	cfg.NextProtos = []string{"http/1.1"} // the admin API speaks HTTP/1.1 only
	return mtls.Listen(ln, mtls.ModePermissive, cfg, 0)
}

// adminPeer is the proxy.AdminPeerFunc of the admin listener: the peer's
// verified SPIFFE ID and whether a pattern of allow (mtls.Pattern) matches
// it.
func adminPeer(r *http.Request, allow []string) (string, bool) {
	id, ok := mtls.PeerID(r)
	if !ok {
		return "", false
	}
	rules, err := mtls.NewRules(allow, nil)
	if err != nil { // validated before; refuse rather than guess
		return id.String(), false
	}
	allowed, _ := rules.Decide(id, true)
	return id.String(), allowed
}
