package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
	"github.com/meshbench/meshbench/scenarios"
)

// Services are mapped onto the fleet by name (see the package
// documentation): payments, risk, fraud and ledger get their fleet role
// (payments only when risk, fraud and ledger exist for it to call), and any
// other service is generic.
func roleOf(s *scenarios.Service, t *scenarios.Topology) (role fleet.Role, generic bool) {
	switch s.Name {
	case string(fleet.RolePayments):
		for _, callee := range []fleet.Role{fleet.RoleRisk, fleet.RoleFraud, fleet.RoleLedger} {
			if _, ok := t.Service(string(callee)); !ok {
				return fleet.RoleRisk, true
			}
		}
		return fleet.RolePayments, false
	case string(fleet.RoleRisk), string(fleet.RoleFraud), string(fleet.RoleLedger):
		return fleet.Role(s.Name), false
	}
	return fleet.RoleRisk, true
}

// callees are the services a role calls: the fleet's fixed payment flow
// for payments (risk and fraud in parallel, then ledger), the scenario's
// calls for a generic service, nothing for the leaf roles.
func callees(s *scenarios.Service, role fleet.Role, generic bool) [][]string {
	if !generic {
		if role == fleet.RolePayments {
			return [][]string{{string(fleet.RoleRisk), string(fleet.RoleFraud)}, {string(fleet.RoleLedger)}}
		}
		return nil
	}
	var stages [][]string
	for _, st := range s.Stages() {
		var names []string
		for _, c := range st {
			names = append(names, c.Service)
		}
		stages = append(stages, names)
	}
	return stages
}

// lookupServiceTime is the service time of payments' lookups: that of the
// scenario's operation of payments that matches them, or none (the
// fleet's default, the service's serviceTime). Validation has checked that
// such an operation calls the ledger only, as the fleet's lookup does.
func lookupServiceTime(s *scenarios.Service) scenarios.DistributionSpec {
	if op := s.OperationFor(scenarios.PaymentLookup()); op != nil {
		return op.ServiceTime
	}
	return scenarios.DistributionSpec{}
}

// genericPayment is the body a generic replica hands its fleet worker, and
// sends to the services it calls: a valid payment, so that fleet roles
// (risk, fraud) answer it.
const genericPayment = `{"amount":100,"currency":"EUR","cardToken":"tok_generic","merchant":"generic"}`

// generic serves a service that has no role of its own in the payment
// flow. Its fleet worker (a risk replica: the M/G/c/K station with its
// service time, errors and faults) serves every request whatever its path;
// when the worker answers 200 the replica then makes the scenario's calls,
// stage by stage, through its outbound transport, and answers 200, or the
// first failed call's status (a 5xx passed through, 502 for a broken call,
// 504 for a deadline). Unlike the simulator's replica it does not hold a
// worker while its calls are out.
type generic struct {
	inner  http.Handler
	stages [][]string
	roles  map[string]fleet.Role // callee service → its role ("" for generic)
	client *http.Client
	base   func(service string) string
}

// ServeHTTP serves one request; the fleet's own endpoints go straight to
// the worker's service.
func (g *generic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz", "/readyz", "/metrics", "/admin/fault":
		g.inner.ServeHTTP(w, r)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	in := r.Clone(r.Context())
	in.Method = http.MethodPost
	in.URL.Path, in.URL.RawPath, in.RequestURI = "/v1/risk", "", "/v1/risk"
	in.Body = io.NopCloser(strings.NewReader(genericPayment))
	in.ContentLength = int64(len(genericPayment))
	in.Header.Set("Content-Type", "application/json")
	rec := fleet.NewRecorder()
	g.inner.ServeHTTP(rec, in)
	if rec.Status != http.StatusOK || len(g.stages) == 0 {
		rec.CopyTo(w)
		return
	}
	for _, stage := range g.stages {
		if status := g.callStage(r.Context(), stage, r.Header); status != 0 {
			copyHeader(w.Header(), rec.Headers, fleet.HeaderInstance)
			http.Error(w, "call failed", status)
			return
		}
	}
	copyHeader(w.Header(), rec.Headers, fleet.HeaderInstance)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("{}\n"))
}

// callStage makes one stage's calls concurrently and returns the status
// the replica answers for the first that failed, or 0.
func (g *generic) callStage(ctx context.Context, stage []string, in http.Header) int {
	statuses := make([]int, len(stage))
	var wg sync.WaitGroup
	for i, callee := range stage {
		wg.Go(func() { statuses[i] = g.call(ctx, callee, in) })
	}
	wg.Wait()
	for _, s := range statuses {
		if s != 0 {
			return s
		}
	}
	return 0
}

// call makes one call and returns 0 on success, else the status to answer.
func (g *generic) call(ctx context.Context, callee string, in http.Header) int {
	path, ok := "/", true
	switch g.roles[callee] {
	case fleet.RoleRisk:
		path = "/v1/risk"
	case fleet.RoleFraud:
		path = "/v1/fraud"
	case fleet.RolePayments:
		path = "/v1/payments"
	case fleet.RoleLedger:
		ok = false
	}
	if !ok {
		return http.StatusInternalServerError
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(g.base(callee), "/")+path, bytes.NewReader([]byte(genericPayment)))
	if err != nil {
		return http.StatusBadGateway
	}
	req.Header.Set("Content-Type", "application/json")
	if v := in.Get("X-Request-Id"); v != "" {
		req.Header.Set("X-Request-Id", v)
	}
	if g.roles[callee] == fleet.RolePayments {
		req.Header.Set(fleet.HeaderIdempotencyKey, "gen_"+rand.Text())
	}
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl).Milliseconds()
		req.Header.Set(fleet.HeaderDeadline, strconv.FormatInt(max(left, 0), 10))
	}
	resp, err := g.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return http.StatusGatewayTimeout
		}
		return http.StatusBadGateway
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode < 400 || resp.StatusCode == http.StatusPaymentRequired:
		return 0
	case resp.StatusCode >= 500:
		return resp.StatusCode
	}
	return http.StatusBadGateway
}

// checkGenericCalls refuses calls a generic service cannot make: a ledger
// write needs a payment that payments processed.
func checkGenericCalls(s *scenarios.Service, roles map[string]fleet.Role) error {
	for _, c := range s.Calls {
		if roles[c.Service] == fleet.RoleLedger {
			return fmt.Errorf("service %s calls ledger: on the local backend only payments writes to the ledger", s.Name)
		}
	}
	return nil
}

func copyHeader(dst, src http.Header, key string) {
	if v := src.Values(key); len(v) > 0 {
		dst[http.CanonicalHeaderKey(key)] = slices.Clone(v)
	}
}
