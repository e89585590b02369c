package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/meshbench/meshbench/bench/fleet/paymentspb"
)

// newGRPCServer builds the gRPC server of a replica of role: the role's
// paymentspb service, each call transcoded to api, the replica's HTTP
// handler (see grpcapi.go). It is served by Handler for HTTP/2 requests
// with a gRPC content type.
func newGRPCServer(role Role, api http.Handler) *grpc.Server {
	srv := grpc.NewServer()
	t := &transcoder{api: api}
	switch role {
	case RolePayments:
		pb.RegisterPaymentsServer(srv, grpcPayments{t: t})
	case RoleRisk:
		pb.RegisterRiskServer(srv, grpcRisk{t: t})
	case RoleFraud:
		pb.RegisterFraudServer(srv, grpcFraud{t: t})
	case RoleLedger:
		pb.RegisterLedgerServer(srv, grpcLedger{t: t})
	}
	healthpb.RegisterHealthServer(srv, grpcHealth{t: t})
	return srv
}

// isGRPC reports whether r is a gRPC call: HTTP/2 with a gRPC content type.
func isGRPC(r *http.Request) bool {
	return r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// transcoder serves a gRPC call by making the HTTP request of the same
// operation to api in process and translating its answer back.
type transcoder struct{ api http.Handler }

// answerMetadata are the answer headers a gRPC answer carries as metadata.
var answerMetadata = []string{HeaderInstance, HeaderIdempotencyKey, HeaderIdempotentReplayed, HeaderReason, "Location"}

// call makes the HTTP request method path (with body as JSON when not
// nil) carrying the call's metadata as headers, and decodes a 2xx or 402
// answer into out (unless nil); any other answer is an error with the status's gRPC
// code. The answer's headers of answerMetadata are sent as header
// metadata.
func (t *transcoder) call(ctx context.Context, method, path string, body any, out any) (err error) {
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(mustJSON(body))
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://grpc"+path, rd)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	req.RequestURI = path
	req.ProtoMajor, req.ProtoMinor, req.Proto = 2, 0, "HTTP/2.0"
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		for k, vs := range md {
			if strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") || k == "content-type" || k == "te" {
				continue
			}
			req.Header[textproto.CanonicalMIMEHeaderKey(k)] = vs
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := NewRecorder()
	if aborted := serveCatchingAbort(t.api, w, req); aborted {
		// The replica crashed under the call: as its HTTP connection
		// would break, the call fails without an answer.
		return status.Error(codes.Unavailable, "replica crashed")
	}
	md := metadata.MD{}
	for _, k := range answerMetadata {
		if v := w.Headers.Get(k); v != "" {
			md.Set(k, v)
		}
	}
	if len(md) > 0 {
		_ = grpc.SetHeader(ctx, md)
	}
	code := w.Status
	if code == 0 {
		code = http.StatusOK
	}
	if code >= 200 && code < 300 || code == http.StatusPaymentRequired {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			return status.Errorf(codes.Internal, "answer %d: %v", code, err)
		}
		return nil
	}
	var eb errorBody
	msg := strings.TrimSpace(w.Body.String())
	if json.Unmarshal(w.Body.Bytes(), &eb) == nil && eb.Error != "" {
		msg = strings.Join(append([]string{eb.Error}, eb.Details...), "; ")
	}
	return status.Error(GRPCCode(code), msg)
}

// serveCatchingAbort serves req, and reports whether the handler aborted
// it (http.ErrAbortHandler: the replica crashed). Any other panic goes on.
func serveCatchingAbort(h http.Handler, w http.ResponseWriter, req *http.Request) (aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				aborted = true
				return
			}
			panic(v)
		}
	}()
	h.ServeHTTP(w, req)
	return false
}

// Recorder is an http.ResponseWriter that keeps the answer in memory: the
// gRPC server transcodes a call through the HTTP handlers with it, and the
// local backend runs handlers in process with it.
type Recorder struct {
	Headers http.Header
	Status  int // 0 until the handler writes
	Body    bytes.Buffer
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{Headers: http.Header{}} }

func (r *Recorder) Header() http.Header { return r.Headers }

func (r *Recorder) WriteHeader(status int) {
	if r.Status == 0 {
		r.Status = status
	}
}

func (r *Recorder) Write(p []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	return r.Body.Write(p)
}

// Flush is a no-op: the answer is delivered whole.
func (r *Recorder) Flush() {}

// CopyTo copies the recorded answer to w.
func (r *Recorder) CopyTo(w http.ResponseWriter) {
	for k, v := range r.Headers {
		w.Header()[k] = v
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(r.Body.Bytes())
}

type grpcPayments struct {
	pb.UnimplementedPaymentsServer
	t *transcoder
}

func (g grpcPayments) CreatePayment(ctx context.Context, in *pb.PaymentRequest) (*pb.Payment, error) {
	var p Payment
	if err := g.t.call(ctx, http.MethodPost, "/v1/payments", paymentRequestFromPB(in), &p); err != nil {
		return nil, err
	}
	return paymentToPB(p), nil
}

func (g grpcPayments) GetPayment(ctx context.Context, in *pb.GetPaymentRequest) (*pb.Payment, error) {
	var p Payment
	if err := g.t.call(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(in.GetId()), nil, &p); err != nil {
		return nil, err
	}
	return paymentToPB(p), nil
}

type grpcRisk struct {
	pb.UnimplementedRiskServer
	t *transcoder
}

func (g grpcRisk) Score(ctx context.Context, in *pb.PaymentRequest) (*pb.RiskScore, error) {
	var s RiskScore
	if err := g.t.call(ctx, http.MethodPost, "/v1/risk", paymentRequestFromPB(in), &s); err != nil {
		return nil, err
	}
	return &pb.RiskScore{Score: s.Score}, nil
}

type grpcFraud struct {
	pb.UnimplementedFraudServer
	t *transcoder
}

func (g grpcFraud) Check(ctx context.Context, in *pb.PaymentRequest) (*pb.FraudDecision, error) {
	var d FraudDecision
	if err := g.t.call(ctx, http.MethodPost, "/v1/fraud", paymentRequestFromPB(in), &d); err != nil {
		return nil, err
	}
	return &pb.FraudDecision{Decision: d.Decision, Reason: d.Reason}, nil
}

type grpcLedger struct {
	pb.UnimplementedLedgerServer
	t *transcoder
}

func (g grpcLedger) Record(ctx context.Context, in *pb.LedgerEntry) (*pb.LedgerEntry, error) {
	var e LedgerEntry
	in.Seq, in.Key = 0, "" // the HTTP API ignores them; its body refuses none
	if err := g.t.call(ctx, http.MethodPost, "/v1/ledger/entries", ledgerEntryFromPB(in), &e); err != nil {
		return nil, err
	}
	return ledgerEntryToPB(e), nil
}

func (g grpcLedger) GetPayment(ctx context.Context, in *pb.GetPaymentRequest) (*pb.LedgerEntry, error) {
	var e LedgerEntry
	if err := g.t.call(ctx, http.MethodGet, ledgerPaymentPath+url.PathEscape(in.GetId()), nil, &e); err != nil {
		return nil, err
	}
	return ledgerEntryToPB(e), nil
}

// grpcHealth is the standard gRPC health service (grpc.health.v1) of the
// replica: Check is GET /readyz, so a hang fault holds it as it holds
// every probe, and a replica shutting down is NOT_SERVING. The service
// name is not looked at: a replica serves one service. Watch is not
// offered (UNIMPLEMENTED), as health checkers poll.
type grpcHealth struct {
	healthpb.UnimplementedHealthServer
	t *transcoder
}

func (g grpcHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	err := g.t.call(ctx, http.MethodGet, "/readyz", nil, nil)
	if status.Code(err) == codes.Unavailable {
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}, nil
	}
	if err != nil {
		return nil, err
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}
