package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/meshbench/meshbench/bench"
)

// Ack is one payment a client saw acknowledged with 2xx: the key it was
// processed under (the client's, or the one payments generated and echoed
// in Idempotency-Key) and the client's payment id, if it sent one.
type Ack struct {
	Key             string
	ClientPaymentID string
}

// logicalID is the identity of the client's payment: its client payment id
// when it has one, else its key.
func logicalID(key, clientID string) string {
	if clientID != "" {
		return "client:" + clientID
	}
	return "key:" + key
}

// Audit checks the ledger against what clients saw acknowledged: every
// acknowledged payment must be recorded exactly once.
//
//   - Acknowledged counts distinct acknowledged payments.
//   - Recorded counts the ledger's records.
//   - Duplicates counts records beyond the first of one logical payment
//     (same client payment id, or same key when there is none): double
//     charges, whether or not the client saw them acknowledged.
//   - Lost counts acknowledged payments with no record.
//
// A payment is identified by its ClientPaymentID when the Ack (or the
// record) has one, else by its key.
func (l *Listing) Audit(acknowledged []Ack) bench.Audit {
	records := make(map[string]int64, len(l.Entries))
	for _, e := range l.Entries {
		records[logicalID(e.Key, e.ClientPaymentID)]++
	}
	var a bench.Audit
	a.Recorded = int64(len(l.Entries))
	for _, n := range records {
		a.Duplicates += n - 1
	}
	seen := make(map[string]bool, len(acknowledged))
	for _, ack := range acknowledged {
		id := logicalID(ack.Key, ack.ClientPaymentID)
		if seen[id] {
			continue
		}
		seen[id] = true
		a.Acknowledged++
		if records[id] == 0 {
			a.Lost++
		}
	}
	return a
}

// FetchLedger reads a ledger's audit listing. ledgerURL is the ledger's
// base URL; client nil uses a client of its own.
func FetchLedger(ctx context.Context, client *http.Client, ledgerURL string) (*Listing, error) {
	if client == nil {
		t := &http.Transport{Proxy: nil}
		defer t.CloseIdleConnections()
		client = &http.Client{Transport: t}
	}
	u, err := url.Parse(ledgerURL)
	if err != nil {
		return nil, fmt.Errorf("ledger URL: %w", err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/ledger/audit"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("ledger audit: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ledger audit: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("ledger audit: %s answered %d: %s", u, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var l Listing
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, fmt.Errorf("ledger audit: decode listing: %w", err)
	}
	return &l, nil
}

// Audit fetches the ledger's listing at ledgerURL and audits it against
// the payments clients saw acknowledged; see Listing.Audit.
func Audit(ctx context.Context, ledgerURL string, acknowledged []Ack) (bench.Audit, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	l, err := FetchLedger(ctx, nil, ledgerURL)
	if err != nil {
		return bench.Audit{}, err
	}
	return l.Audit(acknowledged), nil
}

// AckOf returns the Ack of a payments answer, and false unless it is a
// 2xx: the key from the answer's Idempotency-Key header (which payments
// always sets), and the client payment id sent with the request.
func AckOf(resp *http.Response, clientPaymentID string) (Ack, bool) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Ack{}, false
	}
	return Ack{Key: resp.Header.Get(HeaderIdempotencyKey), ClientPaymentID: clientPaymentID}, true
}
