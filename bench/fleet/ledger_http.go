package fleet

import (
	"encoding/json"
	"net/http"
)

// serveLedgerWrite is POST /v1/ledger/entries: the record in the body, the
// key in Idempotency-Key. A new key is recorded and answered 201; a key
// already recorded is answered 200 with the first record, and nothing is
// written. Any Seq or Key in the body is ignored.
func (s *Service) serveLedgerWrite(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get(HeaderIdempotencyKey)
	if !tokenRE.MatchString(key) {
		writeError(w, http.StatusBadRequest, "missing or malformed "+HeaderIdempotencyKey)
		return
	}
	var e LedgerEntry
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid JSON: "+err.Error())
		return
	}
	if p := e.problems(); len(p) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid ledger entry", p...)
		return
	}
	e.Key, e.Seq = key, 0
	stored, created, err := s.ledger.append(e)
	if err != nil {
		s.log.Error("ledger write failed", "err", err)
		writeError(w, http.StatusInternalServerError, "ledger write failed")
		return
	}
	if !created {
		s.metrics.ledger.WithLabelValues("duplicate").Inc()
		w.Header().Set(HeaderIdempotentReplayed, "true")
		writeJSON(w, http.StatusOK, stored)
		return
	}
	s.metrics.ledger.WithLabelValues("new").Inc()
	writeJSON(w, http.StatusCreated, stored)
}

// ledgerPaymentPath is where the ledger's records are read by payment id:
// GET /v1/ledger/payments/{id}.
const ledgerPaymentPath = "/v1/ledger/payments/"

// serveLedgerRead is GET /v1/ledger/payments/{id}: the record of the
// payment with that id, 200, or 404 when this replica holds none. It is
// part of the ledger's API, so it runs in the replica model as a write
// does: queue, service time, faults.
func (s *Service) serveLedgerRead(w http.ResponseWriter, r *http.Request) {
	e, found, err := s.ledger.byPaymentID(r.PathValue("id"))
	switch {
	case err != nil:
		s.log.Error("ledger read failed", "err", err)
		writeError(w, http.StatusInternalServerError, "ledger read failed")
	case !found:
		writeError(w, http.StatusNotFound, "no record of payment "+r.PathValue("id"))
	default:
		writeJSON(w, http.StatusOK, e)
	}
}

// serveLedgerAudit is GET /v1/ledger/audit: the Listing. It is an
// operator's endpoint, outside the replica model: no service time, no
// queue, no faults, so that an audit after a faulty run reads the ledger.
func (s *Service) serveLedgerAudit(w http.ResponseWriter, _ *http.Request) {
	l, err := s.ledger.listing()
	if err != nil {
		s.log.Error("ledger listing failed", "err", err)
		writeError(w, http.StatusInternalServerError, "ledger listing failed")
		return
	}
	writeJSON(w, http.StatusOK, l)
}
