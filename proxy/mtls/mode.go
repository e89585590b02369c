package mtls

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Mode is how a listener treats peers, after Istio's PeerAuthentication
// mTLS modes.
type Mode string

const (
	// ModeStrict accepts only mutual TLS connections.
	ModeStrict Mode = "STRICT"
	// ModePermissive accepts mutual TLS and plaintext on the same port,
	// telling them apart by the first byte; used while a fleet migrates.
	ModePermissive Mode = "PERMISSIVE"
	// ModeDisable accepts only plaintext.
	ModeDisable Mode = "DISABLE"
)

// ParseMode reads a mode name, in any case.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToUpper(s)); m {
	case ModeStrict, ModePermissive, ModeDisable:
		return m, nil
	}
	return "", fmt.Errorf("mtls mode %q: want STRICT, PERMISSIVE or DISABLE", s)
}

// DefaultSniffTimeout bounds how long a PERMISSIVE listener waits for a new
// connection's first byte before dropping it.
const DefaultSniffTimeout = 10 * time.Second

// Listen wraps inner for mode. cfg (from ServerConfig) is required for
// STRICT and PERMISSIVE. The returned listener yields *tls.Conn for TLS
// connections, so http.Server performs the handshake and fills
// Request.TLS. Closing it closes inner. A PERMISSIVE listener runs one
// goroutine to accept and one per connection until its first byte arrives
// (at most sniffTimeout, DefaultSniffTimeout when zero), so that a slow
// client cannot stall Accept for the others.
func Listen(inner net.Listener, mode Mode, cfg *tls.Config, sniffTimeout time.Duration) (net.Listener, error) {
	switch mode {
	case ModeDisable:
		return inner, nil
	case ModeStrict, ModePermissive:
	default:
		return nil, fmt.Errorf("listen: unknown mtls mode %q", mode)
	}
	if cfg == nil {
		return nil, errors.New("listen: a TLS config is required for " + string(mode))
	}
	if mode == ModeStrict {
		return tls.NewListener(inner, cfg), nil
	}
	if sniffTimeout <= 0 {
		sniffTimeout = DefaultSniffTimeout
	}
	return newSniffListener(inner, cfg, sniffTimeout), nil
}
