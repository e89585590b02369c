package fleet

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	pb "github.com/meshbench/meshbench/bench/fleet/paymentspb"
	"github.com/meshbench/meshbench/proxy/lifecycle"
)

// The fleet's gRPC API (package paymentspb) is its HTTP/JSON API spelt in
// protobuf: one gRPC method per operation, the same messages, the same
// metadata as headers. Replicas serve it by transcoding each call to their
// HTTP handler in process (grpcserver.go), and GRPCTransport carries
// requests of the HTTP API over it (grpcclient.go), so that both protocols
// have the same semantics by construction: the replica model, faults,
// idempotency and the ledger are the HTTP API's own.

// grpcOp is one operation of the API in both spellings.
type grpcOp struct {
	method string // HTTP method
	path   string // HTTP path; with id, the prefix the payment id follows
	id     bool   // the path ends with a payment id
	full   string // gRPC full method name, "/package.Service/Method"
	// req builds the gRPC request from the HTTP body (a JSON object of
	// the fleet's type) or the id.
	req func(body []byte, id string) (proto.Message, error)
	// resp is a new gRPC answer to decode into.
	resp func() proto.Message
	// answer is the HTTP answer for a gRPC answer: status and JSON body.
	answer func(m proto.Message, replayed bool) (int, any)
}

const grpcPackage = "meshbench.payments.v1"

// GRPCService is the gRPC service of role ("meshbench.payments.v1.Risk"),
// whose methods' paths are "/" + GRPCService(role) + "/Method".
func GRPCService(role Role) string {
	switch role {
	case RolePayments:
		return grpcPackage + ".Payments"
	case RoleRisk:
		return grpcPackage + ".Risk"
	case RoleFraud:
		return grpcPackage + ".Fraud"
	case RoleLedger:
		return grpcPackage + ".Ledger"
	}
	return ""
}

var grpcOps = []grpcOp{
	{
		method: http.MethodPost, path: "/v1/payments", full: pb.Payments_CreatePayment_FullMethodName,
		req:  paymentRequestFromJSON,
		resp: func() proto.Message { return new(pb.Payment) },
		answer: func(m proto.Message, replayed bool) (int, any) {
			p := paymentFromPB(m.(*pb.Payment))
			switch {
			case p.Status == StatusDeclined:
				return http.StatusPaymentRequired, p
			case replayed:
				return http.StatusOK, p
			}
			return http.StatusCreated, p
		},
	},
	{
		method: http.MethodGet, path: "/v1/payments/", id: true, full: pb.Payments_GetPayment_FullMethodName,
		req:  func(_ []byte, id string) (proto.Message, error) { return &pb.GetPaymentRequest{Id: id}, nil },
		resp: func() proto.Message { return new(pb.Payment) },
		answer: func(m proto.Message, _ bool) (int, any) {
			return http.StatusOK, paymentFromPB(m.(*pb.Payment))
		},
	},
	{
		method: http.MethodPost, path: "/v1/risk", full: pb.Risk_Score_FullMethodName,
		req:  paymentRequestFromJSON,
		resp: func() proto.Message { return new(pb.RiskScore) },
		answer: func(m proto.Message, _ bool) (int, any) {
			return http.StatusOK, RiskScore{Score: m.(*pb.RiskScore).GetScore()}
		},
	},
	{
		method: http.MethodPost, path: "/v1/fraud", full: pb.Fraud_Check_FullMethodName,
		req:  paymentRequestFromJSON,
		resp: func() proto.Message { return new(pb.FraudDecision) },
		answer: func(m proto.Message, _ bool) (int, any) {
			d := m.(*pb.FraudDecision)
			out := FraudDecision{Decision: d.GetDecision(), Reason: d.GetReason()}
			if out.Decision == DecisionDecline {
				return http.StatusPaymentRequired, out
			}
			return http.StatusOK, out
		},
	},
	{
		method: http.MethodPost, path: "/v1/ledger/entries", full: pb.Ledger_Record_FullMethodName,
		req: func(body []byte, _ string) (proto.Message, error) {
			var e LedgerEntry
			if err := strictJSON(body, &e); err != nil {
				return nil, err
			}
			return ledgerEntryToPB(e), nil
		},
		resp: func() proto.Message { return new(pb.LedgerEntry) },
		answer: func(m proto.Message, replayed bool) (int, any) {
			if replayed {
				return http.StatusOK, ledgerEntryFromPB(m.(*pb.LedgerEntry))
			}
			return http.StatusCreated, ledgerEntryFromPB(m.(*pb.LedgerEntry))
		},
	},
	{
		method: http.MethodGet, path: ledgerPaymentPath, id: true, full: pb.Ledger_GetPayment_FullMethodName,
		req:  func(_ []byte, id string) (proto.Message, error) { return &pb.GetPaymentRequest{Id: id}, nil },
		resp: func() proto.Message { return new(pb.LedgerEntry) },
		answer: func(m proto.Message, _ bool) (int, any) {
			return http.StatusOK, ledgerEntryFromPB(m.(*pb.LedgerEntry))
		},
	},
}

// grpcOpFor finds the operation of an HTTP request, and the payment id
// its path names.
func grpcOpFor(method, path string) (*grpcOp, string, bool) {
	for i := range grpcOps {
		op := &grpcOps[i]
		if op.method != method {
			continue
		}
		if !op.id {
			if strings.TrimSuffix(path, "/") == op.path {
				return op, "", true
			}
			continue
		}
		if id, ok := strings.CutPrefix(path, op.path); ok && id != "" && !strings.Contains(id, "/") {
			return op, id, true
		}
	}
	return nil, "", false
}

// GRPCMethod is the gRPC full method ("/meshbench.payments.v1.Payments/CreatePayment")
// that carries an HTTP request of the fleet's API (POST /v1/payments, GET
// /v1/payments/{id}, POST /v1/risk, POST /v1/fraud, POST
// /v1/ledger/entries, GET /v1/ledger/payments/{id}); false for any other.
func GRPCMethod(method, path string) (string, bool) {
	op, _, ok := grpcOpFor(method, path)
	if !ok {
		return "", false
	}
	return op.full, true
}

func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body is not the operation's JSON: %w", err)
	}
	return nil
}

func paymentRequestFromJSON(body []byte, _ string) (proto.Message, error) {
	var p PaymentRequest
	if err := strictJSON(body, &p); err != nil {
		return nil, err
	}
	return paymentRequestToPB(p), nil
}

func paymentRequestToPB(p PaymentRequest) *pb.PaymentRequest {
	return &pb.PaymentRequest{
		Amount: p.Amount, Currency: p.Currency, CardToken: p.CardToken,
		Merchant: p.Merchant, ClientPaymentId: p.ClientPaymentID,
	}
}

func paymentRequestFromPB(p *pb.PaymentRequest) PaymentRequest {
	return PaymentRequest{
		Amount: p.GetAmount(), Currency: p.GetCurrency(), CardToken: p.GetCardToken(),
		Merchant: p.GetMerchant(), ClientPaymentID: p.GetClientPaymentId(),
	}
}

func paymentToPB(p Payment) *pb.Payment {
	return &pb.Payment{
		Id: p.ID, Status: p.Status, Amount: p.Amount, Currency: p.Currency, Merchant: p.Merchant,
		RiskScore: p.RiskScore, DeclineReason: p.DeclineReason, IdempotencyKey: p.IdempotencyKey,
		ClientPaymentId: p.ClientPaymentID, LedgerSeq: p.LedgerSeq,
	}
}

func paymentFromPB(p *pb.Payment) Payment {
	return Payment{
		ID: p.GetId(), Status: p.GetStatus(), Amount: p.GetAmount(), Currency: p.GetCurrency(),
		Merchant: p.GetMerchant(), RiskScore: p.GetRiskScore(), DeclineReason: p.GetDeclineReason(),
		IdempotencyKey: p.GetIdempotencyKey(), ClientPaymentID: p.GetClientPaymentId(), LedgerSeq: p.GetLedgerSeq(),
	}
}

func ledgerEntryToPB(e LedgerEntry) *pb.LedgerEntry {
	return &pb.LedgerEntry{
		Seq: e.Seq, Key: e.Key, PaymentId: e.PaymentID, ClientPaymentId: e.ClientPaymentID,
		Amount: e.Amount, Currency: e.Currency, Merchant: e.Merchant, RiskScore: e.RiskScore,
	}
}

func ledgerEntryFromPB(e *pb.LedgerEntry) LedgerEntry {
	return LedgerEntry{
		Seq: e.GetSeq(), Key: e.GetKey(), PaymentID: e.GetPaymentId(), ClientPaymentID: e.GetClientPaymentId(),
		Amount: e.GetAmount(), Currency: e.GetCurrency(), Merchant: e.GetMerchant(), RiskScore: e.GetRiskScore(),
	}
}

// GRPCCode is the gRPC status of an HTTP error status of the fleet or the
// proxy, after the HTTP mapping of Google's API design guide (the inverse
// of HTTPStatus, up to the statuses that share a code).
func GRPCCode(status int) codes.Code {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case statusClientClosed:
		return codes.Canceled
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	}
	if status >= 500 {
		return codes.Internal
	}
	return codes.Unknown
}

// HTTPStatus is the HTTP status that stands for gRPC code c in the HTTP
// API: 200 for OK, and for errors the status of Google's API design
// guide's mapping (INVALID_ARGUMENT 400, NOT_FOUND 404, RESOURCE_EXHAUSTED
// 429, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, INTERNAL and UNKNOWN 500,
// ...).
func HTTPStatus(c codes.Code) int {
	// The proxy's lifecycle judges gRPC answers by the same mapping
	// (Envoy's grpcToHttpStatus, which follows the guide).
	return lifecycle.GRPCToHTTP(int(c))
}
