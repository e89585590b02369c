package local

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/proxy/discovery"
	"github.com/meshbench/meshbench/proxy/mtls"
	"github.com/meshbench/meshbench/scenarios"
)

// replica is one instance of a service: a fleet.Service (its role, or the
// generic wrapper) served on a fixed loopback address, so that a restart
// comes back where its callers look for it. The scenario's faults are kept
// per replica and merged into the one fleet.Fault the service carries.
type replica struct {
	svc   *service
	index int
	name  string // "payments[0]", the fleet's instance name
	zone  string
	addr  string // 127.0.0.1:port, fixed for the run
	// external: the replica runs elsewhere (StartMesh) at addr; the env
	// routes to it but never starts or stops it.
	external bool

	cfg  fleet.Config
	wrap func(http.Handler) http.Handler // the generic wrapper; nil for fleet roles
	// tls puts the replica's listener under the run's mutual TLS; nil:
	// plaintext. src is the replica's identity, which its sidecar shares.
	tls *meshTLS
	src *mtls.Source

	mu     sync.Mutex
	ln     net.Listener // opened before the service, so callers know the address
	live   *fleet.Service
	srv    *http.Server
	served sync.WaitGroup
	faults []activeFault // in the order they started
}

// activeFault is one scenario fault's part of a replica's fleet.Fault.
type activeFault struct {
	id    int
	fault fleet.Fault
}

// listen reserves the replica's address.
func (r *replica) listen() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("%s: listen: %w", r.name, err)
	}
	r.ln, r.addr = ln, ln.Addr().String()
	return nil
}

// start builds the replica's service and serves it on its address (the
// listener reserved by listen, or a new one on the same port after a
// kill). The faults active on the replica apply to the new service too.
func (r *replica) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live != nil {
		return nil
	}
	ln := r.ln
	r.ln = nil
	if ln == nil {
		var err error
		if ln, err = listenAgain(r.addr); err != nil {
			return fmt.Errorf("%s: restart: %w", r.name, err)
		}
	}
	protocols := fleet.ServeProtocols()
	if r.tls != nil {
		secured, err := r.tls.listen(ln, r.src, r.svc.spec.GRPC())
		if err != nil {
			ln.Close()
			return fmt.Errorf("%s: mtls: %w", r.name, err)
		}
		ln = secured
		protocols.SetHTTP2(r.svc.spec.GRPC())
	}
	s, err := fleet.NewService(r.cfg)
	if err != nil {
		ln.Close()
		return fmt.Errorf("%s: %w", r.name, err)
	}
	if err := s.SetFault(r.mergedLocked()); err != nil {
		ln.Close()
		_ = s.Close()
		return fmt.Errorf("%s: fault: %w", r.name, err)
	}
	var h http.Handler = s.Handler()
	if r.wrap != nil {
		h = r.wrap(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0), Protocols: protocols}
	r.live, r.srv = s, srv
	r.served.Go(func() { _ = srv.Serve(ln) })
	return nil
}

// listenAgain listens on a port the replica held before. The port was
// released moments ago; another listener grabbing it in between is not
// expected on loopback, but a short retry covers a slow release.
func listenAgain(addr string) (net.Listener, error) {
	var err error
	for range 20 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil, err
}

// kill ends the replica as a crash does: requests in flight are aborted
// (their connections reset), the listener closes (new connections are
// refused), and the service's resources (the ledger file) are released. A
// replica already down is left as it is.
func (r *replica) kill() error {
	r.mu.Lock()
	s, srv := r.live, r.srv
	r.live, r.srv = nil, nil
	ln := r.ln
	r.ln = nil
	r.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	if s == nil {
		return nil
	}
	err := s.SetFault(fleet.Fault{Crash: true})
	cerr := srv.Close()
	<-s.Crashed()
	r.served.Wait()
	if err == nil && cerr != nil && !errors.Is(cerr, http.ErrServerClosed) {
		err = cerr
	}
	return errors.Join(err, s.Close())
}

// stop closes the replica at the end of a run.
func (r *replica) stop() error {
	r.mu.Lock()
	s, srv, ln := r.live, r.srv, r.ln
	r.live, r.srv, r.ln = nil, nil, nil
	r.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	if s == nil {
		return nil
	}
	_ = srv.Close()
	err := s.Close()
	r.served.Wait()
	return err
}

// up reports whether the replica is serving.
func (r *replica) up() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.live != nil
}

// setFault adds (or with on false, removes) fault id's part and applies
// the merge to the live service.
func (r *replica) setFault(id int, f fleet.Fault, on bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	kept := r.faults[:0]
	for _, a := range r.faults {
		if a.id != id {
			kept = append(kept, a)
		}
	}
	r.faults = kept
	if on {
		r.faults = append(r.faults, activeFault{id, f})
	}
	if r.live == nil {
		return nil
	}
	return r.live.SetFault(r.mergedLocked())
}

// mergedLocked folds the active faults into one, the latest of each kind
// winning, as the simulator's faults override the replica's state.
func (r *replica) mergedLocked() fleet.Fault {
	var m fleet.Fault
	for _, a := range r.faults {
		f := a.fault
		if f.Slow != 0 {
			m.Slow = f.Slow
		}
		if f.ErrorRate != 0 {
			m.ErrorRate, m.ErrorStatus = f.ErrorRate, f.ErrorStatus
		}
		if f.Latency != nil {
			m.Latency = f.Latency
		}
		m.Hang = m.Hang || f.Hang
	}
	return m
}

// service is one scenario service and its replicas.
type service struct {
	spec    *scenarios.Service
	role    fleet.Role
	generic bool
	calls   [][]string
	reps    []*replica
}

// useEndpoint makes r the replica of its name among eps, run elsewhere.
func (r *replica) useEndpoint(eps []discovery.Endpoint) error {
	for _, ep := range eps {
		if ep.ID != r.name {
			continue
		}
		r.addr, r.external = ep.Address, true
		if ep.Zone != "" {
			r.zone = ep.Zone
		}
		return nil
	}
	return fmt.Errorf("%s: no endpoint", r.name)
}
