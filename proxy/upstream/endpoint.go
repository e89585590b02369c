// Package upstream describes one instance of an upstream service, the
// Endpoint that a configuration lists, discovery reports and the proxy
// dials. It is its own small package, importing neither net/http nor
// discovery's providers, so that proxy/config and the simulator can name
// endpoints without depending on the proxy's I/O; discovery.Endpoint is the
// same type, as os.FileInfo is fs.FileInfo.
package upstream

import (
	"fmt"
	"net"
	"strconv"
)

// Endpoint is one upstream instance.
type Endpoint struct {
	// ID is the endpoint's stable identity; empty means Address.
	ID string `json:"id,omitempty" yaml:"id,omitempty"`
	// Address is the dial address, host:port.
	Address string `json:"address" yaml:"address"`
	// Zone is the endpoint's locality, for zone-aware balancing.
	Zone string `json:"zone,omitempty" yaml:"zone,omitempty"`
	// Weight is the load-balancing weight; 0 means 1.
	Weight int `json:"weight,omitempty" yaml:"weight,omitempty"`
}

// Validate reports whether e has a usable host:port address and a
// non-negative weight.
func (e Endpoint) Validate() error {
	host, port, err := net.SplitHostPort(e.Address)
	if err != nil {
		return fmt.Errorf("endpoint %q: address: %w", e.Address, err)
	}
	if host == "" {
		return fmt.Errorf("endpoint %q: address has no host", e.Address)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("endpoint %q: port %q is not in 1..65535", e.Address, port)
	}
	if e.Weight < 0 {
		return fmt.Errorf("endpoint %q: weight %d is negative", e.Address, e.Weight)
	}
	return nil
}
