package fleet

import (
	"math/rand/v2"
	"net/http"
	"strconv"
)

// RiskScore is risk's answer.
type RiskScore struct {
	// Score is in [0, 1); higher is riskier.
	Score float64 `json:"score"`
}

// risk scores payments. The score is a draw from a stream seeded by the
// replica's seed and the payment itself, so the same payment scores the
// same on every replica given the same seed, and retries agree.
type risk struct {
	seed uint64
}

func (k *risk) score(p PaymentRequest) float64 {
	h := hash64(strconv.FormatInt(p.Amount, 10), p.Currency, p.CardToken, p.Merchant)
	return rand.New(rand.NewPCG(k.seed^streamRisk, h)).Float64()
}

func (k *risk) serve(w http.ResponseWriter, r *http.Request) {
	p, problems, err := decodePayment(http.MaxBytesReader(w, r.Body, maxBody))
	switch {
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	case len(problems) > 0:
		writeError(w, http.StatusUnprocessableEntity, "invalid payment", problems...)
	default:
		writeJSON(w, http.StatusOK, RiskScore{Score: k.score(p)})
	}
}
