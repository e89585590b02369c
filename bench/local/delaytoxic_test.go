package local

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/meshbench/meshbench/scenarios"
)

// echoServer echoes every line back; with resetAfterRead it resets each
// connection (RST) after its first read instead, as a replica killed
// mid-request.
func echoServer(t *testing.T, resetAfterRead bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if resetAfterRead {
				go func() {
					buf := make([]byte, 64)
					_, _ = c.Read(buf)
					_ = c.(*net.TCPConn).SetLinger(0)
					c.Close()
				}()
				continue
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func TestDelayToxicDelaysInOrder(t *testing.T) {
	n := newNetwork()
	defer n.close()
	l, err := n.add("gw", "", &replica{name: "echo[0]", addr: echoServer(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	up := scenarios.DistributionSpec{Type: "uniform", Min: 5 * time.Millisecond, Max: 15 * time.Millisecond}
	if err := l.addToxic(delayToxicFor("hop_up", "upstream", &up, 0)); err != nil {
		t.Fatal(err)
	}
	if err := l.addToxic(delayToxicFor("hop_down", "downstream", nil, 0)); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	r := bufio.NewReader(c)
	const lines = 20
	for i := range lines {
		if _, err := c.Write([]byte{byte('a' + i), '\n'}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range lines {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 2 || b[0] != byte('a'+i) {
			t.Fatalf("line %d came back as %q: chunks out of order", i, b)
		}
	}
	// Every chunk waited at least the smallest delay (a lower bound on
	// elapsed time, which no slowness of the machine can break).
	if d := time.Since(start); d < 5*time.Millisecond {
		t.Errorf("echo in %s, want at least 5ms", d)
	}
}

func TestDelayToxicEndsWhenTheUpstreamDies(t *testing.T) {
	n := newNetwork()
	l, err := n.add("gw", "", &replica{name: "dead[0]", addr: echoServer(t, true)})
	if err != nil {
		t.Fatal(err)
	}
	lat := scenarios.DistributionSpec{Type: "constant", Value: 30 * time.Millisecond}
	for _, tx := range []toxic{delayToxicFor("hop_up", "upstream", &lat, 0), delayToxicFor("hop_down", "downstream", &lat, 0)} {
		if err := l.addToxic(tx); err != nil {
			t.Fatal(err)
		}
	}
	// Data in flight while the upstream closes: toxiproxy's own stages
	// would wait forever to hand it on. goleak (TestMain) checks that
	// nothing is left.
	for range 5 {
		c, err := net.Dial("tcp", l.addr)
		if err != nil {
			t.Fatal(err)
		}
		// Three chunks: the first reaches the upstream, which then resets
		// the connection; writing the second fails and stops the link's
		// writer; the third is then held by the toxic with nobody to take
		// it. The pauses only separate the writes into chunks.
		for _, chunk := range []string{"first\n", "second\n", "third\n"} {
			_, _ = c.Write([]byte(chunk))
			time.Sleep(5 * time.Millisecond)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.ReadAll(c)
		c.Close()
	}
	n.close()
}
