package containers

import (
	"net"
	"slices"
	"strconv"
	"testing"
)

// TestPortsBelow: published ports come from below the kernel's ephemeral
// range, where no outgoing connection's source port can take one between
// the pick and Docker's bind; a range too narrow to pick from falls back
// to the kernel's choice.
func TestPortsBelow(t *testing.T) {
	for _, tc := range []struct{ floor, lo, hi int }{
		{32768, publishFloor, 32768},
		{1024, 0, 0},
		{publishFloor + 500, 0, 0},
		{0, 0, 0},
	} {
		if lo, hi := portsBelow(tc.floor); lo != tc.lo || hi != tc.hi {
			t.Errorf("portsBelow(%d) = [%d, %d), want [%d, %d)", tc.floor, lo, hi, tc.lo, tc.hi)
		}
	}
}

// TestFreePortsBelowTheEphemeralRange: on this machine's range the ports
// are distinct, free (each can be bound again) and below the range.
func TestFreePortsBelowTheEphemeralRange(t *testing.T) {
	floor := ephemeralFloor()
	ports, err := freePorts(15)
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(ports)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(ports) {
		t.Errorf("ports not distinct: %v", ports)
	}
	for _, p := range ports {
		if lo, _ := portsBelow(floor); lo > 0 && (p < lo || p >= floor) {
			t.Errorf("port %d outside [%d, %d)", p, lo, floor)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d is not free after the pick: %v", p, err)
			continue
		}
		_ = ln.Close()
	}
}

// TestListenBelowFallsBack: an empty range binds the kernel's choice.
func TestListenBelowFallsBack(t *testing.T) {
	ln, err := listenBelow(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	if ln.Addr().(*net.TCPAddr).Port == 0 {
		t.Error("no port bound")
	}
}
