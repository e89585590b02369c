package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/meshbench/meshbench/scenarios"
)

// ErrCrashed is returned by Serve when a crash fault ended the service.
var ErrCrashed = errors.New("fleet: service crashed by an injected fault")

// Service is one replica of one role of the payment fleet. Build it with
// NewService, then serve its Handler with any server, or call Serve on
// listeners; Close ends it. A Service is not restarted: after Close or a
// crash, build a new one (a ledger on the same path finds its records).
type Service struct {
	cfg         Config
	log         *slog.Logger
	metrics     *metrics
	adm         *admission
	faults      faultState
	serviceTime scenarios.Distribution // nil: none
	lookupTime  scenarios.Distribution // payments' lookups; nil: serviceTime
	stRand      *lockedRand
	errRand     *lockedRand
	latRand     *lockedRand
	handler     http.Handler
	grpc        *grpc.Server // the role's gRPC API, served by handler

	pay    *payments    // RolePayments
	risk   *risk        // RoleRisk
	fraud  *FraudRules  // RoleFraud
	ledger *ledgerStore // RoleLedger

	// ctx ends every request's waits when the service closes or crashes.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	servers  []*http.Server
	closing  bool
	inflight sync.WaitGroup // requests being handled
	bg       sync.WaitGroup // the crash goroutine

	crashing  atomic.Bool
	crashed   chan struct{}
	crashOnce sync.Once
	closeOnce sync.Once
	closeErr  error
}

// NewService checks cfg and builds a replica of cfg.Role. A ledger opens
// (or creates) its bbolt file here; it is held, locked, until Close.
func NewService(cfg Config) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{
		cfg:     cfg,
		log:     cfg.Logger.With("role", string(cfg.Role), "instance", cfg.Name),
		metrics: newMetrics(cfg.Role, cfg.Name),
		adm:     newAdmission(cfg.Concurrency, cfg.Queue),
		stRand:  newLockedRand(cfg.Seed, streamServiceTime),
		errRand: newLockedRand(cfg.Seed, streamErrors),
		latRand: newLockedRand(cfg.Seed, streamFaultLatency),
		crashed: make(chan struct{}),
	}
	s.adm.busy = s.metrics.busy.Add
	s.adm.waiting = s.metrics.waiting.Add
	if cfg.ServiceTime.Type != "" {
		s.serviceTime, _ = cfg.ServiceTime.Build() // validated above
	}
	s.lookupTime = s.serviceTime
	if cfg.LookupServiceTime.Type != "" {
		s.lookupTime, _ = cfg.LookupServiceTime.Build() // validated above
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	mux := http.NewServeMux()
	switch cfg.Role {
	case RolePayments:
		s.pay = newPayments(s)
		mux.Handle("POST /v1/payments", s.replica(s.pay.serve))
		mux.Handle("GET /v1/payments/{id}", s.replicaTimed(s.lookupTime, s.pay.lookup))
	case RoleRisk:
		s.risk = &risk{seed: cfg.Seed}
		mux.Handle("POST /v1/risk", s.replica(s.risk.serve))
	case RoleFraud:
		s.fraud = cfg.Fraud
		mux.Handle("POST /v1/fraud", s.replica(s.fraud.serve))
	case RoleLedger:
		l, err := openLedger(cfg.LedgerPath, cfg.LedgerNoSync)
		if err != nil {
			s.cancel()
			return nil, err
		}
		s.ledger = l
		mux.Handle("POST /v1/ledger/entries", s.replica(s.serveLedgerWrite))
		mux.Handle("GET "+ledgerPaymentPath+"{id}", s.replica(s.serveLedgerRead))
		mux.HandleFunc("GET /v1/ledger/audit", s.serveLedgerAudit)
	}
	mux.HandleFunc("GET /healthz", s.serveHealthz)
	mux.HandleFunc("GET /readyz", s.serveReadyz)
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /admin/fault", s.serveFaultGet)
	mux.HandleFunc("POST /admin/fault", s.serveFaultPost)
	mux.HandleFunc("DELETE /admin/fault", s.serveFaultDelete)
	api := s.track(mux)
	s.grpc = newGRPCServer(cfg.Role, api)
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isGRPC(r) {
			s.grpc.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
	return s, nil
}

// Name is the replica's name, as sent in X-Meshbench-Instance.
func (s *Service) Name() string { return s.cfg.Name }

// Role is the replica's role.
func (s *Service) Role() Role { return s.cfg.Role }

// Handler serves every endpoint of the replica: the role's API, /healthz,
// /readyz, /metrics and /admin/fault, and the role's gRPC API (package
// paymentspb) to HTTP/2 requests with a gRPC content type; serve it with
// cleartext HTTP/2 enabled (http.Protocols' UnencryptedHTTP2) for h2c
// callers, as Serve does.
func (s *Service) Handler() http.Handler { return s.handler }

// Serve accepts connections on ln until the service is closed or crashes,
// and closes ln. It may be called for several listeners. It returns
// http.ErrServerClosed after Close or Shutdown, and ErrCrashed after a
// crash fault.
func (s *Service) Serve(ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		Protocols:         ServeProtocols(),
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = ln.Close()
		return s.serveErr(http.ErrServerClosed)
	}
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	return s.serveErr(srv.Serve(ln))
}

func (s *Service) serveErr(err error) error {
	if s.crashing.Load() {
		return ErrCrashed
	}
	return err
}

// Crashed is closed when a crash fault has ended the service; the program
// exits on it.
func (s *Service) Crashed() <-chan struct{} { return s.crashed }

// Fault returns the replica's current fault.
func (s *Service) Fault() Fault {
	f, _ := s.faults.current()
	return f
}

// SetFault replaces the replica's fault, as POST /admin/fault with every
// key given; a Fault with Crash set crashes the service. The zero Fault
// clears everything.
func (s *Service) SetFault(f Fault) error {
	if err := s.faults.set(f); err != nil {
		return err
	}
	if f.Crash {
		s.startCrash()
	}
	return nil
}

// Close ends the service at once: listeners and connections are closed,
// requests waiting (queued, hung, in their service time) are cancelled, and
// Close returns when every request has returned and the ledger file is
// closed. It is safe to call more than once.
func (s *Service) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.teardown() })
	s.bg.Wait()
	return s.closeErr
}

// Shutdown ends the service gracefully, as on SIGTERM: listeners stop
// accepting and requests in progress may finish until ctx ends; then it
// closes as Close does.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := slices.Clone(s.servers)
	s.mu.Unlock()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	errs = append(errs, s.Close())
	return errors.Join(errs...)
}

// teardown refuses new requests, cancels the waiting ones, closes the
// servers, waits for every handler and releases the role's resources.
func (s *Service) teardown() error {
	s.mu.Lock()
	s.closing = true
	servers := slices.Clone(s.servers)
	s.mu.Unlock()
	s.cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close server: %w", err))
		}
	}
	s.grpc.Stop()
	s.inflight.Wait()
	if s.pay != nil {
		s.pay.close()
	}
	if s.ledger != nil {
		if err := s.ledger.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// startCrash ends the service from a goroutine of its own, so that the
// admin request that asked for it is answered first.
func (s *Service) startCrash() {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.bg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.bg.Done()
		s.crashing.Store(true)
		s.log.Warn("crash fault: closing the service")
		s.closeOnce.Do(func() { s.closeErr = s.teardown() })
		s.crashOnce.Do(func() { close(s.crashed) })
	}()
}

// track counts requests in flight, so that Close can wait for them, and
// refuses requests once the service is closing: a crashed replica aborts
// them (the connection breaks, as with a dead process).
func (s *Service) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			s.abortIfCrashed()
			w.Header().Set(HeaderReason, ReasonShuttingDown)
			writeError(w, http.StatusServiceUnavailable, "service is shutting down")
			return
		}
		s.inflight.Add(1)
		s.mu.Unlock()
		defer s.inflight.Done()
		w.Header().Set(HeaderInstance, s.cfg.Name)
		next.ServeHTTP(w, r)
	})
}

// abortIfCrashed aborts the request, as net/http does for
// http.ErrAbortHandler: the connection is closed without an answer.
func (s *Service) abortIfCrashed() {
	if s.crashing.Load() {
		panic(http.ErrAbortHandler)
	}
}

// requestContext is r's context, also ended when the service closes, and
// shortened to the caller's X-Meshbench-Deadline-Ms budget.
func (s *Service) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.ctx, cancel)
	if budget, ok := parseDeadline(r.Header.Get(HeaderDeadline)); ok {
		var cancelT context.CancelFunc
		ctx, cancelT = context.WithTimeout(ctx, budget)
		return ctx, func() { cancelT(); stop(); cancel() }
	}
	return ctx, func() { stop(); cancel() }
}

// ServeProtocols are the protocols a server of a replica's Handler
// accepts: HTTP/1.1, and cleartext HTTP/2 with prior knowledge, which
// gRPC callers (and a proxy's h2c clusters) use.
func ServeProtocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &p
}
