// Command paymentsvc runs one replica of the payment fleet (package
// bench/fleet): payments, risk, fraud or ledger, chosen by --role or
// PAYMENTSVC_ROLE. Every flag can also be set by an environment variable
// named PAYMENTSVC_ and the flag in upper case with '-' as '_'
// (--ledger-path: PAYMENTSVC_LEDGER_PATH); a flag on the command line wins.
//
// It prints "listening on http://ADDR" once bound, shuts down gracefully on
// SIGTERM or SIGINT, and exits 1 when a crash fault is injected.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "paymentsvc:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(args []string) error {
	fs := flag.NewFlagSet("paymentsvc", flag.ContinueOnError)
	var (
		role        = fs.String("role", "", "payments, risk, fraud or ledger (required)")
		listen      = fs.String("listen", "127.0.0.1:0", "address to listen on; port 0 picks a free one")
		name        = fs.String("name", "", "replica name for X-Meshbench-Instance and metrics (default: the role)")
		seed        = fs.Uint64("seed", 1, "seed of the replica's random streams")
		serviceTime = fs.String("service-time", "0s", `service time: a duration ("5ms") or a distribution as JSON ({"type":"exponential","mean":"5ms"})`)
		lookupTime  = fs.String("lookup-service-time", "", "service time of payments' lookups (GET /v1/payments/{id}), as --service-time (empty: --service-time)")
		errorRate   = fs.Float64("error-rate", 0, "fraction of requests answered 500 (0..1)")
		concurrency = fs.Int("concurrency", 1, "workers (0: unlimited)")
		queue       = fs.Int("queue", 100, "requests waiting for a worker before 503")
		riskURL     = fs.String("risk-url", "", "base URL of risk (payments)")
		fraudURL    = fs.String("fraud-url", "", "base URL of fraud (payments)")
		ledgerURL   = fs.String("ledger-url", "", "base URL of ledger (payments)")
		grpcCallees = fs.String("grpc-callees", "", "comma-separated callees (risk, fraud, ledger) called over gRPC at their URL's host, the :authority naming them (payments)")
		requireKey  = fs.Bool("require-idempotency-key", true, "answer 400 without Idempotency-Key; false gives each such request a fresh key (payments)")
		idemCap     = fs.Int("idempotency-capacity", fleet.DefaultIdempotencyCapacity, "keys remembered by payments")
		maxAmount   = fs.Int64("fraud-max-amount", fleet.DefaultFraudRules().MaxAmount, "largest amount fraud approves, in minor units; 0: no limit (fraud)")
		blocked     = fs.String("fraud-blocked-prefixes", strings.Join(fleet.DefaultFraudRules().BlockedTokenPrefixes, ","), "comma-separated card-token prefixes fraud declines (fraud)")
		ledgerPath  = fs.String("ledger-path", "ledger.db", "bbolt file of the ledger (ledger)")
		noSync      = fs.Bool("ledger-nosync", false, "skip the fsync after each ledger write (ledger)")
		grace       = fs.Duration("shutdown-timeout", 10*time.Second, "how long requests may finish on SIGTERM")
		verbose     = fs.Bool("verbose", false, "log at debug level")
	)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if err := envDefaults(fs, "PAYMENTSVC_"); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	r, err := fleet.ParseRole(*role)
	if err != nil {
		return fmt.Errorf("%w: --role: %v", errUsage, err)
	}
	var st scenarios.DistributionSpec
	if *serviceTime != "0s" && *serviceTime != "" {
		if st, err = fleet.ParseDistribution(*serviceTime); err != nil {
			return fmt.Errorf("%w: --service-time: %v", errUsage, err)
		}
	}
	var lookupST scenarios.DistributionSpec
	if *lookupTime != "" {
		if lookupST, err = fleet.ParseDistribution(*lookupTime); err != nil {
			return fmt.Errorf("%w: --lookup-service-time: %v", errUsage, err)
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	rules := fleet.FraudRules{MaxAmount: *maxAmount}
	for p := range strings.SplitSeq(*blocked, ",") {
		if p = strings.TrimSpace(p); p != "" {
			rules.BlockedTokenPrefixes = append(rules.BlockedTokenPrefixes, p)
		}
	}
	var callees []fleet.Role
	for _, c := range strings.Split(*grpcCallees, ",") {
		if c = strings.TrimSpace(c); c != "" {
			callees = append(callees, fleet.Role(c))
		}
	}
	svc, err := fleet.NewService(fleet.Config{
		Role: r, Name: *name, Seed: *seed,
		ServiceTime: st, LookupServiceTime: lookupST, ErrorRate: *errorRate, Concurrency: *concurrency, Queue: *queue,
		RiskURL: *riskURL, FraudURL: *fraudURL, LedgerURL: *ledgerURL, GRPCCallees: callees,
		OptionalIdempotencyKey: !*requireKey, IdempotencyCapacity: *idemCap,
		Fraud:      &rules,
		LedgerPath: *ledgerPath, LedgerNoSync: *noSync,
		Logger: logger,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		_ = svc.Close()
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	logger.Info("serving", "role", r, "addr", ln.Addr().String())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ln) }()
	select {
	case <-svc.Crashed():
		<-served
		return fleet.ErrCrashed
	case err := <-served:
		_ = svc.Close()
		if errors.Is(err, fleet.ErrCrashed) {
			return err
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	err = svc.Shutdown(sctx)
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// envDefaults sets every flag not given on the command line from its
// environment variable, if set.
func envDefaults(fs *flag.FlagSet, prefix string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := prefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(env)
		if given[f.Name] || !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
		}
	})
	return errors.Join(errs...)
}
