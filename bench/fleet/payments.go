package fleet

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sync"
)

// payments is the entry service: it validates a payment, asks risk and
// fraud in parallel, records an approved payment in the ledger, and makes
// the whole exchange idempotent by key.
type payments struct {
	s           *Service
	store       *idemStore
	call        *caller
	optionalKey bool
}

func newPayments(s *Service) *payments {
	return &payments{
		s:           s,
		store:       newIdemStore(s.cfg.IdempotencyCapacity),
		call:        newCaller(s.cfg),
		optionalKey: s.cfg.OptionalIdempotencyKey,
	}
}

func (p *payments) close() { p.call.close() }

func (p *payments) serve(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	key := r.Header.Get(HeaderIdempotencyKey)
	switch {
	case key == "" && !p.optionalKey:
		writeError(w, http.StatusBadRequest, HeaderIdempotencyKey+" header required")
		return
	case key == "":
		// A client that sends no key gets a new payment per request: its
		// retries charge again, as they would against such an API.
		key = "gen_" + rand.Text()
	case !tokenRE.MatchString(key):
		writeError(w, http.StatusBadRequest, HeaderIdempotencyKey+" must be 1 to 255 printable characters without spaces")
		return
	}
	w.Header().Set(HeaderIdempotencyKey, key)

	req, problems, err := decodePayment(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		problems = append(problems, mergeClientID(&req, r.Header.Get(HeaderClientPaymentID))...)
	}
	switch {
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	case len(problems) > 0:
		writeError(w, http.StatusUnprocessableEntity, "invalid payment", problems...)
		return
	}

	prior, finish, err := p.store.begin(ctx, key, req.fingerprint())
	switch {
	case errors.Is(err, errKeyReused):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	case err != nil:
		p.s.gaveUp(w, err)
		return
	case prior != nil:
		p.replay(w, prior)
		return
	}
	finished := false
	defer func() {
		if !finished { // a panic: let the requests waiting on the key try
			finish(nil)
		}
	}()
	pay, existed, err := p.process(ctx, key, req, r.Header)
	if err != nil {
		finished = true
		finish(nil)
		p.fail(w, ctx, err)
		return
	}
	status := http.StatusCreated
	if pay.Status == StatusDeclined {
		status = http.StatusPaymentRequired
	}
	body := mustJSON(pay)
	location := ""
	if pay.Status == StatusApproved {
		// Where the payment can be read back (GET /v1/payments/{id}), as a
		// REST API points at a resource it created.
		location = "/v1/payments/" + pay.ID
		w.Header().Set("Location", location)
	}
	finished = true
	finish(&answer{status: status, body: body, location: location})
	if existed {
		// The ledger held the key from an earlier attempt whose answer was
		// lost: this is that payment, replayed.
		w.Header().Set(HeaderIdempotentReplayed, "true")
		status = http.StatusOK
	}
	p.s.metrics.payment(pay.Status, existed)
	writeRawJSON(w, status, body)
}

// replay answers a stored answer again: 201 becomes 200, 402 stays.
func (p *payments) replay(w http.ResponseWriter, a *answer) {
	status := a.status
	payStatus := StatusDeclined
	if status == http.StatusCreated {
		status, payStatus = http.StatusOK, StatusApproved
	}
	p.s.metrics.payment(payStatus, true)
	if a.location != "" {
		w.Header().Set("Location", a.location)
	}
	w.Header().Set(HeaderIdempotentReplayed, "true")
	writeRawJSON(w, status, a.body)
}

// fail answers a payment that could not be processed.
func (p *payments) fail(w http.ResponseWriter, ctx context.Context, err error) {
	if errors.Is(err, errKeyReused) {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if ctx.Err() != nil {
		p.s.gaveUp(w, ctx.Err())
		return
	}
	var ce *callError
	if errors.As(err, &ce) {
		writeError(w, ce.status, "payment failed: "+ce.Error())
		return
	}
	p.s.log.Error("payment failed", "err", err)
	writeError(w, http.StatusInternalServerError, "payment failed")
}

// mergeClientID takes the client payment id from the header into req; the
// header and the body must agree when both are given.
func mergeClientID(req *PaymentRequest, hdr string) []string {
	switch {
	case hdr == "":
		return nil
	case !tokenRE.MatchString(hdr):
		return []string{HeaderClientPaymentID + ": 1 to 255 printable characters without spaces"}
	case req.ClientPaymentID != "" && req.ClientPaymentID != hdr:
		return []string{fmt.Sprintf("clientPaymentId %q differs from %s %q", req.ClientPaymentID, HeaderClientPaymentID, hdr)}
	}
	req.ClientPaymentID = hdr
	return nil
}

// paymentIDRE matches what can be a payment's id: paymentID's form, and
// any other id made of URL-safe characters (the ledger keeps whatever id
// it was given).
var paymentIDRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`)

// lookup is GET /v1/payments/{id}: the payment with that id as the ledger
// recorded it, 200, or 404 when there is none, as a payment API answers
// for an id it does not know. Only approved payments are recorded (a
// declined one moved no money), so a declined payment is not found either.
// The ledger is asked through the mesh with the id in X-Payment-Id, which
// reaches the ledger replica that holds it.
func (p *payments) lookup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !paymentIDRE.MatchString(id) {
		p.s.metrics.lookups.WithLabelValues("not_found").Inc()
		writeError(w, http.StatusNotFound, "no such payment")
		return
	}
	hdr := http.Header{HeaderPaymentID: {id}}
	if v := r.Header.Get(HeaderRequestID); v != "" {
		hdr.Set(HeaderRequestID, v)
	}
	status, b, err := p.call.get(ctx, RoleLedger, ledgerPaymentPath+id, hdr, http.StatusOK, http.StatusNotFound)
	if err != nil {
		p.fail(w, ctx, err)
		return
	}
	if status == http.StatusNotFound {
		p.s.metrics.lookups.WithLabelValues("not_found").Inc()
		writeError(w, http.StatusNotFound, "no such payment: "+id)
		return
	}
	var e LedgerEntry
	if err := decodeAnswer(RoleLedger, b, &e); err != nil {
		p.fail(w, ctx, err)
		return
	}
	p.s.metrics.lookups.WithLabelValues("found").Inc()
	writeJSON(w, http.StatusOK, Payment{
		ID: e.PaymentID, Status: StatusApproved, Amount: e.Amount, Currency: e.Currency, Merchant: e.Merchant,
		RiskScore: e.RiskScore, IdempotencyKey: e.Key, ClientPaymentID: e.ClientPaymentID, LedgerSeq: e.Seq,
	})
}

// process asks risk and fraud in parallel and, when fraud approves, the
// ledger. existed says the ledger already held the key. As in the
// simulator, both parallel calls are waited for even when one fails.
func (p *payments) process(ctx context.Context, key string, req PaymentRequest, in http.Header) (pay Payment, existed bool, err error) {
	id := paymentID(key)
	hdr := http.Header{HeaderIdempotencyKey: {key}, HeaderPaymentID: {id}}
	if v := in.Get(HeaderRequestID); v != "" {
		hdr.Set(HeaderRequestID, v)
	}
	if req.ClientPaymentID != "" {
		hdr.Set(HeaderClientPaymentID, req.ClientPaymentID)
	}
	body := mustJSON(req)

	var (
		wg                sync.WaitGroup
		score             RiskScore
		decision          FraudDecision
		riskErr, fraudErr error
	)
	wg.Go(func() {
		_, b, err := p.call.post(ctx, RoleRisk, body, hdr, http.StatusOK)
		if err == nil {
			err = decodeAnswer(RoleRisk, b, &score)
		}
		riskErr = err
	})
	wg.Go(func() {
		status, b, err := p.call.post(ctx, RoleFraud, body, hdr, http.StatusOK, http.StatusPaymentRequired)
		if err == nil {
			err = decodeAnswer(RoleFraud, b, &decision)
		}
		if err == nil && (status == http.StatusPaymentRequired) != (decision.Decision == DecisionDecline) {
			err = &callError{RoleFraud, http.StatusBadGateway, fmt.Errorf("decision %q with status %d", decision.Decision, status)}
		}
		fraudErr = err
	})
	wg.Wait()
	if err := cmp.Or(riskErr, fraudErr); err != nil {
		return Payment{}, false, err
	}

	pay = Payment{
		ID: id, Amount: req.Amount, Currency: req.Currency, Merchant: req.Merchant,
		RiskScore: score.Score, IdempotencyKey: key, ClientPaymentID: req.ClientPaymentID,
	}
	if decision.Decision == DecisionDecline {
		// Declined payments move no money: the ledger does not see them.
		pay.Status, pay.DeclineReason = StatusDeclined, decision.Reason
		return pay, false, nil
	}
	entry := LedgerEntry{
		PaymentID: pay.ID, ClientPaymentID: req.ClientPaymentID, Amount: req.Amount,
		Currency: req.Currency, Merchant: req.Merchant, RiskScore: score.Score,
	}
	status, b, err := p.call.post(ctx, RoleLedger, mustJSON(entry), hdr, http.StatusCreated, http.StatusOK)
	if err != nil {
		return Payment{}, false, err
	}
	var stored LedgerEntry
	if err := decodeAnswer(RoleLedger, b, &stored); err != nil {
		return Payment{}, false, err
	}
	existed = status == http.StatusOK
	if existed && !stored.sameCharge(entry) {
		return Payment{}, false, errKeyReused
	}
	pay.Status, pay.ID, pay.LedgerSeq, pay.RiskScore = StatusApproved, stored.PaymentID, stored.Seq, stored.RiskScore
	return pay, existed, nil
}

// decodeAnswer reads a callee's JSON answer; a malformed one is a 502.
func decodeAnswer(callee Role, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return &callError{callee, http.StatusBadGateway, fmt.Errorf("malformed answer: %w", err)}
	}
	return nil
}
