package fleet

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// PaymentRequest is the body of POST /v1/payments (and of the risk and
// fraud calls payments makes).
type PaymentRequest struct {
	// Amount is in the currency's minor units (cents); above 0.
	Amount int64 `json:"amount"`
	// Currency is an ISO 4217 alphabetic code: three upper-case letters.
	Currency string `json:"currency"`
	// CardToken stands for the card, as a payment processor's token does.
	CardToken string `json:"cardToken"`
	// Merchant is who is paid.
	Merchant string `json:"merchant"`
	// ClientPaymentID names the client's logical payment, the same over
	// its retries (also accepted as X-Client-Payment-Id). Optional.
	ClientPaymentID string `json:"clientPaymentId,omitempty"`
}

// Payment statuses.
const (
	StatusApproved = "approved"
	StatusDeclined = "declined"
)

// Payment is payments' answer: 201 (200 when replayed) when approved, 402
// when declined.
type Payment struct {
	// ID names the payment: the ledger's record of it when approved.
	ID string `json:"id"`
	// Status is approved or declined.
	Status string `json:"status"`
	Amount int64  `json:"amount"`
	// Currency and Merchant repeat the request's.
	Currency string `json:"currency"`
	Merchant string `json:"merchant"`
	// RiskScore is risk's score, in [0, 1).
	RiskScore float64 `json:"riskScore"`
	// DeclineReason is fraud's reason when declined.
	DeclineReason string `json:"declineReason,omitempty"`
	// IdempotencyKey is the key the payment was processed under: the
	// client's, or the one generated when keys are optional.
	IdempotencyKey string `json:"idempotencyKey"`
	// ClientPaymentID is the client's name for the payment, if given.
	ClientPaymentID string `json:"clientPaymentId,omitempty"`
	// LedgerSeq is the ledger record's sequence number; 0 when declined.
	LedgerSeq uint64 `json:"ledgerSeq,omitempty"`
}

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	// tokenRE bounds identifiers the fleet stores: printable ASCII without
	// spaces, as header values and ledger keys must be safe to echo.
	tokenRE = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)
)

// decodePayment reads and checks a payment body; the error lists every
// problem.
func decodePayment(r io.Reader) (PaymentRequest, []string, error) {
	var p PaymentRequest
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return p, nil, errors.New("invalid JSON: trailing data after the payment")
	}
	return p, p.problems(), nil
}

// problems lists why p is not a valid payment; none when it is.
func (p PaymentRequest) problems() []string {
	var out []string
	if p.Amount <= 0 {
		out = append(out, fmt.Sprintf("amount: %d must be above 0 (minor units)", p.Amount))
	}
	if !currencyRE.MatchString(p.Currency) {
		out = append(out, fmt.Sprintf("currency: %q is not an ISO 4217 code (three upper-case letters)", p.Currency))
	}
	if !tokenRE.MatchString(p.CardToken) {
		out = append(out, "cardToken: required, 1 to 255 printable characters without spaces")
	}
	if !tokenRE.MatchString(p.Merchant) {
		out = append(out, "merchant: required, 1 to 255 printable characters without spaces")
	}
	if p.ClientPaymentID != "" && !tokenRE.MatchString(p.ClientPaymentID) {
		out = append(out, "clientPaymentId: 1 to 255 printable characters without spaces")
	}
	return out
}

// paymentID is the id of the payment processed under key: "pay_" and 26
// base32 characters of a hash of the key. Being a function of the key,
// it is the same for every attempt with that key, which is what lets the
// ledger be sharded by payment id (see HeaderPaymentID) and a payment be
// found by its id alone.
func paymentID(key string) string {
	sum := sha256.Sum256([]byte("payment\x00" + key))
	return "pay_" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16])
}

// fingerprint identifies the payment a key was first used for, so that a
// key reused for another payment is refused (the IETF draft's 422).
func (p PaymentRequest) fingerprint() [32]byte {
	var buf bytes.Buffer
	buf.Write(binary.BigEndian.AppendUint64(nil, uint64(p.Amount)))
	for _, s := range []string{p.Currency, p.CardToken, p.Merchant, p.ClientPaymentID} {
		buf.WriteString(s)
		buf.WriteByte(0)
	}
	return sha256.Sum256(buf.Bytes())
}
