package importer

import (
	"fmt"
	"net/netip"
	"strings"
)

// CheckCIDR reports whether s is a CIDR or a single address, as a route's
// ipRestriction takes them.
func CheckCIDR(s string) error {
	if !strings.Contains(s, "/") {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("%q is neither a CIDR (10.0.0.0/8) nor an address", s)
		}
		return nil
	}
	if _, err := netip.ParsePrefix(s); err != nil {
		return fmt.Errorf("%q is not a CIDR (such as 10.0.0.0/8)", s)
	}
	return nil
}
