package fleet

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/meshbench/meshbench/scenarios"
)

// Role is what one service instance does in the payment flow.
type Role string

// The roles of the payment fleet.
const (
	RolePayments Role = "payments" // the entry service: POST /v1/payments
	RoleRisk     Role = "risk"     // scores a payment: POST /v1/risk
	RoleFraud    Role = "fraud"    // approves or declines: POST /v1/fraud
	RoleLedger   Role = "ledger"   // records approved payments durably: POST /v1/ledger/entries
)

// Roles lists every role, in the order of the payment flow.
func Roles() []Role { return []Role{RolePayments, RoleRisk, RoleFraud, RoleLedger} }

// ParseRole reads a role name as the --role flag spells it.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (roles: payments, risk, fraud, ledger)", s)
}

// Config configures one service instance. The zero value of every field but
// Role (and, per role, the URLs or the ledger path) is usable; see each
// field for what zero means.
type Config struct {
	// Role chooses the service's API. Required.
	Role Role
	// Name is the replica's name ("payments[0]"), sent in
	// X-Meshbench-Instance and used as the metrics' instance label.
	// Empty: the role's name.
	Name string
	// Seed seeds the replica's random streams (service time, errors,
	// risk scores). Replicas of one service should get different seeds.
	Seed uint64

	// ServiceTime is the time a worker spends on each request before the
	// role's own work, as the scenario's serviceTime. Zero (empty Type):
	// no simulated service time.
	ServiceTime scenarios.DistributionSpec
	// LookupServiceTime replaces ServiceTime for payments' lookups (GET
	// /v1/payments/{id}), as a scenario's operation of payments that
	// matches them. Zero (empty Type): ServiceTime. Payments only.
	LookupServiceTime scenarios.DistributionSpec
	// ErrorRate is the fraction of requests answered 500 after their
	// service time, as the scenario's errorRate (0..1).
	ErrorRate float64
	// Concurrency is the number of workers. Zero: unlimited, with no
	// queueing at all (Queue is ignored).
	Concurrency int
	// Queue is how many requests wait for a worker; one more is answered
	// 503 (queue_full). Zero: no waiting room.
	Queue int

	// RiskURL, FraudURL and LedgerURL are the base URLs payments calls
	// ("http://127.0.0.1:15001", or a gateway's "http://127.0.0.1:8080/risk"):
	// the role's path (/v1/risk, ...) is appended to the URL's path, so one
	// sidecar address can serve all three, routed by path. Required for
	// payments.
	RiskURL, FraudURL, LedgerURL string
	// Transport carries payments' downstream calls; the proxyless topology
	// injects the proxy library's transport here. Nil: a transport of the
	// service's own, closed with it.
	Transport http.RoundTripper
	// GRPCCallees are the callees payments calls over their gRPC API
	// (package paymentspb) instead of HTTP/JSON, at the host of their base
	// URL, whose path must then be empty or "/" (a gRPC method's path is
	// fixed); the call's :authority is the callee's role ("risk"), by
	// which a sidecar routes it. Such calls use a transport of the
	// service's own, whatever Transport is. Empty: every call is
	// HTTP/JSON.
	GRPCCallees []Role
	// OptionalIdempotencyKey lets payments accept requests without an
	// Idempotency-Key, giving each a fresh random key: clients whose
	// retries carry no key then double-charge, which the audit reports.
	// False (the default): a request without a key is answered 400.
	OptionalIdempotencyKey bool
	// IdempotencyCapacity bounds payments' in-memory idempotency store.
	// Zero: DefaultIdempotencyCapacity.
	IdempotencyCapacity int

	// Fraud holds the fraud service's rules. Nil: DefaultFraudRules().
	Fraud *FraudRules

	// LedgerPath is the ledger's bbolt file. Required for ledger.
	LedgerPath string
	// LedgerNoSync skips the fsync after each ledger write (bbolt's
	// NoSync). Records then survive a crash of the process but not of the
	// machine; use it when the disk, not the fleet, would be measured.
	LedgerNoSync bool

	// Logger receives the service's few log lines. Nil: discarded.
	Logger *slog.Logger
}

// DefaultIdempotencyCapacity is the number of completed keys payments
// remembers when Config.IdempotencyCapacity is zero.
const DefaultIdempotencyCapacity = 100_000

// withDefaults returns c with the documented defaults filled in.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = string(c.Role)
	}
	if c.IdempotencyCapacity == 0 {
		c.IdempotencyCapacity = DefaultIdempotencyCapacity
	}
	if c.Fraud == nil {
		r := DefaultFraudRules()
		c.Fraud = &r
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate reports every problem of a defaulted config together.
func (c Config) validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if _, err := ParseRole(string(c.Role)); err != nil {
		bad("role: %v", err)
	}
	if c.ServiceTime.Type != "" {
		if _, err := c.ServiceTime.Build(); err != nil {
			bad("service time: %v", err)
		}
	}
	if c.LookupServiceTime.Type != "" {
		if _, err := c.LookupServiceTime.Build(); err != nil {
			bad("lookup service time: %v", err)
		}
		if c.Role != RolePayments {
			bad("lookup service time: for the payments role only, not %s", c.Role)
		}
	}
	if !(c.ErrorRate >= 0 && c.ErrorRate <= 1) {
		bad("error rate %v: must be between 0 and 1", c.ErrorRate)
	}
	if c.Concurrency < 0 {
		bad("concurrency %d: must not be negative (0 is unlimited)", c.Concurrency)
	}
	if c.Queue < 0 {
		bad("queue %d: must not be negative", c.Queue)
	}
	if c.IdempotencyCapacity < 0 {
		bad("idempotency capacity %d: must not be negative", c.IdempotencyCapacity)
	}
	switch c.Role {
	case RolePayments:
		urls := map[Role]string{RoleRisk: c.RiskURL, RoleFraud: c.FraudURL, RoleLedger: c.LedgerURL}
		for _, u := range []struct{ name, url string }{{"risk", c.RiskURL}, {"fraud", c.FraudURL}, {"ledger", c.LedgerURL}} {
			if err := checkBaseURL(u.url); err != nil {
				bad("%s URL: %v", u.name, err)
			}
		}
		for _, r := range c.GRPCCallees {
			base, ok := urls[r]
			if !ok {
				bad("gRPC callee %q: payments calls risk, fraud and ledger only", r)
				continue
			}
			if u, err := url.Parse(base); err == nil && u.Path != "" && u.Path != "/" {
				bad("%s URL %q: a callee called over gRPC takes a base URL without a path", r, base)
			}
		}
	case RoleFraud:
		if c.Fraud.MaxAmount < 0 {
			bad("fraud max amount %d: must not be negative (0 is no limit)", c.Fraud.MaxAmount)
		}
	case RoleLedger:
		if c.LedgerPath == "" {
			bad("ledger path: required for the ledger role")
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("fleet config: %s", strings.Join(errs, "; "))
	}
	return nil
}

func checkBaseURL(s string) error {
	if s == "" {
		return fmt.Errorf("required for the payments role")
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q: want an absolute http(s) URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: a base URL has no query or fragment", s)
	}
	return nil
}
