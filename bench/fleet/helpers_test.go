package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meshbench/meshbench/bench/fleet"
)

// serve starts svc on an ephemeral loopback port and returns its base URL.
// Cleanup closes it and waits for Serve to return.
func serve(t testing.TB, svc *fleet.Service) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ln) }()
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Errorf("close %s: %v", svc.Name(), err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, fleet.ErrCrashed) {
			t.Errorf("serve %s: %v", svc.Name(), err)
		}
	})
	return "http://" + ln.Addr().String()
}

// start builds and serves a service.
func start(t testing.TB, cfg fleet.Config) (*fleet.Service, string) {
	t.Helper()
	svc, err := fleet.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc, serve(t, svc)
}

// fleetUnderTest is a whole fleet on loopback, one replica per role.
type fleetUnderTest struct {
	payments, risk, fraud, ledger  *fleet.Service
	paymentsURL, riskURL, fraudURL string
	ledgerURL                      string
}

// fleetOptions adjust the configs of startFleet; each may be nil.
type fleetOptions struct {
	payments, risk, fraud, ledger func(*fleet.Config)
	// wrapRisk and wrapFraud, when set, sit in front of risk and fraud.
	wrapRisk, wrapFraud func(http.Handler) http.Handler
}

func startFleet(t testing.TB, o fleetOptions) *fleetUnderTest {
	t.Helper()
	cfg := func(role fleet.Role, seed uint64, adjust func(*fleet.Config)) fleet.Config {
		c := fleet.Config{Role: role, Seed: seed, Concurrency: 16, Queue: 64}
		if role == fleet.RoleLedger {
			c.LedgerPath = t.TempDir() + "/ledger.db"
			c.LedgerNoSync = true
		}
		if adjust != nil {
			adjust(&c)
		}
		return c
	}
	f := &fleetUnderTest{}
	f.ledger, f.ledgerURL = start(t, cfg(fleet.RoleLedger, 4, o.ledger))
	f.risk, f.riskURL = startWrapped(t, cfg(fleet.RoleRisk, 2, o.risk), o.wrapRisk)
	f.fraud, f.fraudURL = startWrapped(t, cfg(fleet.RoleFraud, 3, o.fraud), o.wrapFraud)
	pc := cfg(fleet.RolePayments, 1, nil)
	pc.RiskURL, pc.FraudURL, pc.LedgerURL = f.riskURL, f.fraudURL, f.ledgerURL
	if o.payments != nil {
		o.payments(&pc)
	}
	f.payments, f.paymentsURL = start(t, pc)
	return f
}

// startWrapped serves cfg's service behind wrap, on a loopback listener.
func startWrapped(t testing.TB, cfg fleet.Config, wrap func(http.Handler) http.Handler) (*fleet.Service, string) {
	t.Helper()
	if wrap == nil {
		return start(t, cfg)
	}
	svc, err := fleet.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: wrap(svc.Handler())}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = svc.Close()
		_ = srv.Close()
		<-done
	})
	return svc, "http://" + ln.Addr().String()
}

// newClient is an HTTP client whose connections are closed at cleanup.
func newClient(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// reply is an answer read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) payment(t testing.TB) fleet.Payment {
	t.Helper()
	var p fleet.Payment
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("answer %d %q: %v", r.status, r.body, err)
	}
	return p
}

// do sends a request and reads the whole answer.
func do(ctx context.Context, c *http.Client, method, url string, hdr map[string]string, body []byte) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}, err
}

// mustDo is do that fails the test on a transport error.
func mustDo(t testing.TB, c *http.Client, method, url string, hdr map[string]string, body []byte) reply {
	t.Helper()
	r, err := do(context.Background(), c, method, url, hdr, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

// payment is a valid payment body; a token starting tok_fraud is declined.
func payment(amount int64, token string) fleet.PaymentRequest {
	return fleet.PaymentRequest{Amount: amount, Currency: "EUR", CardToken: token, Merchant: "m-1"}
}

func jsonBody(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pay posts a payment with an Idempotency-Key (none when key is empty).
func pay(t testing.TB, c *http.Client, base, key string, p fleet.PaymentRequest) reply {
	t.Helper()
	hdr := map[string]string{}
	if key != "" {
		hdr[fleet.HeaderIdempotencyKey] = key
	}
	return mustDo(t, c, http.MethodPost, base+"/v1/payments", hdr, jsonBody(t, p))
}

// listing reads a ledger's audit listing.
func listing(t testing.TB, ledgerURL string) *fleet.Listing {
	t.Helper()
	l, err := fleet.FetchLedger(context.Background(), nil, ledgerURL)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// setFault posts a fault patch to a replica's admin endpoint.
func setFault(t testing.TB, c *http.Client, base, patch string) {
	t.Helper()
	r := mustDo(t, c, http.MethodPost, base+"/admin/fault", nil, []byte(patch))
	if r.status != http.StatusOK && r.status != http.StatusAccepted {
		t.Fatalf("POST /admin/fault %s: %d %s", patch, r.status, r.body)
	}
}

func trim(b []byte) string { return strings.TrimSpace(string(b)) }
