package fleet

import (
	"fmt"
	"testing"

	"github.com/meshbench/meshbench/bench"
	"pgregory.net/rapid"
)

func TestListingAudit(t *testing.T) {
	rec := func(key, client string) LedgerEntry { return LedgerEntry{Key: key, ClientPaymentID: client} }
	tests := []struct {
		name    string
		entries []LedgerEntry
		acks    []Ack
		want    bench.Audit
	}{
		{"empty", nil, nil, bench.Audit{}},
		{"clean by key", []LedgerEntry{rec("a", ""), rec("b", "")},
			[]Ack{{Key: "a"}, {Key: "b"}}, bench.Audit{Acknowledged: 2, Recorded: 2}},
		{"recorded but not acknowledged is not lost", []LedgerEntry{rec("a", ""), rec("b", "")},
			[]Ack{{Key: "a"}}, bench.Audit{Acknowledged: 1, Recorded: 2}},
		{"lost", []LedgerEntry{rec("a", "")},
			[]Ack{{Key: "a"}, {Key: "b"}}, bench.Audit{Acknowledged: 2, Recorded: 1, Lost: 1}},
		{"repeated acks count once", []LedgerEntry{rec("a", "")},
			[]Ack{{Key: "a"}, {Key: "a"}}, bench.Audit{Acknowledged: 1, Recorded: 1}},
		{"double charge under two keys", []LedgerEntry{rec("g1", "order-1"), rec("g2", "order-1")},
			[]Ack{{Key: "g1", ClientPaymentID: "order-1"}, {Key: "g2", ClientPaymentID: "order-1"}},
			bench.Audit{Acknowledged: 1, Recorded: 2, Duplicates: 1}},
		{"triple charge, never acknowledged", []LedgerEntry{rec("g1", "o"), rec("g2", "o"), rec("g3", "o")},
			nil, bench.Audit{Recorded: 3, Duplicates: 2}},
		{"acknowledged by client id, recorded under another key", []LedgerEntry{rec("g9", "o")},
			[]Ack{{Key: "g1", ClientPaymentID: "o"}}, bench.Audit{Acknowledged: 1, Recorded: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Listing{Entries: tt.entries, Count: len(tt.entries)}
			if got := l.Audit(tt.acks); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestListingAuditProperties: records split into distinct payments and
// duplicates; acknowledged payments split into recorded and lost.
func TestListingAuditProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var l Listing
		recorded := map[string]bool{}
		for i := range rapid.IntRange(0, 30).Draw(t, "records") {
			client := fmt.Sprintf("c%d", rapid.IntRange(0, 9).Draw(t, "client"))
			l.Entries = append(l.Entries, LedgerEntry{Key: fmt.Sprintf("k%d", i), ClientPaymentID: client})
			recorded[client] = true
		}
		acked := map[string]bool{}
		var acks []Ack
		for range rapid.IntRange(0, 30).Draw(t, "acks") {
			client := fmt.Sprintf("c%d", rapid.IntRange(0, 14).Draw(t, "acked"))
			acks = append(acks, Ack{Key: "x", ClientPaymentID: client})
			acked[client] = true
		}
		a := l.Audit(acks)
		if a.Recorded != int64(len(l.Entries)) || a.Recorded-a.Duplicates != int64(len(recorded)) {
			t.Fatalf("%+v: %d records of %d payments", a, len(l.Entries), len(recorded))
		}
		lost := int64(0)
		for c := range acked {
			if !recorded[c] {
				lost++
			}
		}
		if a.Acknowledged != int64(len(acked)) || a.Lost != lost {
			t.Fatalf("%+v: %d acknowledged, %d lost", a, len(acked), lost)
		}
	})
}
