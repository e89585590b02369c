package mtls

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// The benchmarks below measure what mutual TLS costs the proxy's CPU, for
// the simulator's cost model (sim/hopcost.go, where the measured values
// are written down): a full mutual handshake between two SVIDs, and the
// records of one request and its answer on an established connection
// beside the same exchange in plaintext. Both ends run in this process
// over net.Pipe, so a handshake's time is the CPU of client and server
// together, with no network in it.
//
//	go test -run XXX -bench 'MTLSHandshake|TLSRequest' -cpu 1 -count 5 ./proxy/mtls/

// BenchmarkMTLSHandshake is one full TLS 1.3 handshake with client
// certificates: ECDHE, an ECDSA P-256 signature by each end and the
// verification of each peer's chain and SPIFFE ID.
func BenchmarkMTLSHandshake(b *testing.B) {
	now := time.Now()
	ca := mustCA(b, "payments.example", now)
	server := ServerConfig(NewSource(mustIssue(b, ca, paymentsID, now, time.Hour)), &Verifier{Bundle: ca.Bundle()})
	client := ClientConfig(NewSource(mustIssue(b, ca, gatewayID, now, time.Hour)), &Verifier{Bundle: ca.Bundle()})
	b.ReportAllocs()
	for b.Loop() {
		c, s := net.Pipe()
		sc := tls.Server(s, server)
		done := make(chan error, 1)
		go func() { done <- sc.Handshake() }()
		cc := tls.Client(c, client)
		if err := cc.Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		c.Close()
		s.Close()
	}
}

// BenchmarkTLSRequest is one request (300 bytes) and its answer (600
// bytes) on an established connection, in plaintext and over mutual TLS:
// the difference is the records' cost (AES-GCM both ways, at both ends).
func BenchmarkTLSRequest(b *testing.B) {
	req := make([]byte, 300)
	resp := make([]byte, 600)
	exchange := func(b *testing.B, c, s net.Conn) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			in := make([]byte, len(req))
			for {
				if _, err := io.ReadFull(s, in); err != nil {
					return
				}
				if _, err := s.Write(resp); err != nil {
					return
				}
			}
		}()
		in := make([]byte, len(resp))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Write(req); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, in); err != nil {
				b.Fatal(err)
			}
		}
		c.Close()
		<-done
	}
	b.Run("plaintext", func(b *testing.B) {
		c, s := net.Pipe()
		defer s.Close()
		exchange(b, c, s)
	})
	b.Run("mtls", func(b *testing.B) {
		now := time.Now()
		ca := mustCA(b, "payments.example", now)
		server := ServerConfig(NewSource(mustIssue(b, ca, paymentsID, now, time.Hour)), &Verifier{Bundle: ca.Bundle()})
		client := ClientConfig(NewSource(mustIssue(b, ca, gatewayID, now, time.Hour)), &Verifier{Bundle: ca.Bundle()})
		c, s := net.Pipe()
		defer s.Close()
		sc, cc := tls.Server(s, server), tls.Client(c, client)
		done := make(chan error, 1)
		go func() { done <- sc.Handshake() }()
		if err := cc.Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		exchange(b, cc, sc)
	})
}
