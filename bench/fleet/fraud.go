package fleet

import (
	"fmt"
	"net/http"
	"strings"
)

// FraudRules are the fraud service's rules: a payment is declined when its
// card token starts with a blocked prefix or its amount is above a limit.
type FraudRules struct {
	// MaxAmount is the largest amount approved, in minor units. 0: no
	// limit.
	MaxAmount int64
	// BlockedTokenPrefixes decline every card token that starts with one
	// of them.
	BlockedTokenPrefixes []string
}

// DefaultFraudRules declines amounts above 10,000.00 and card tokens that
// start with "tok_fraud", so that a load generator can ask for declines.
func DefaultFraudRules() FraudRules {
	return FraudRules{MaxAmount: 1_000_000, BlockedTokenPrefixes: []string{"tok_fraud"}}
}

// FraudDecision is fraud's answer: 200 with decision approve, or 402 with
// decision decline and a reason.
type FraudDecision struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason,omitempty"`
}

// Fraud decisions.
const (
	DecisionApprove = "approve"
	DecisionDecline = "decline"
)

// Decide applies the rules to a payment.
func (f *FraudRules) Decide(p PaymentRequest) FraudDecision {
	for _, pre := range f.BlockedTokenPrefixes {
		if pre != "" && strings.HasPrefix(p.CardToken, pre) {
			return FraudDecision{Decision: DecisionDecline, Reason: "card token blocked"}
		}
	}
	if f.MaxAmount > 0 && p.Amount > f.MaxAmount {
		return FraudDecision{Decision: DecisionDecline, Reason: fmt.Sprintf("amount above the limit of %d", f.MaxAmount)}
	}
	return FraudDecision{Decision: DecisionApprove}
}

func (f *FraudRules) serve(w http.ResponseWriter, r *http.Request) {
	p, problems, err := decodePayment(http.MaxBytesReader(w, r.Body, maxBody))
	switch {
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	case len(problems) > 0:
		writeError(w, http.StatusUnprocessableEntity, "invalid payment", problems...)
	default:
		d := f.Decide(p)
		status := http.StatusOK
		if d.Decision == DecisionDecline {
			status = http.StatusPaymentRequired
		}
		writeJSON(w, status, d)
	}
}
