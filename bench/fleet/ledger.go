package fleet

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// LedgerEntry is one record of the ledger: an approved payment, written
// once under its idempotency key.
type LedgerEntry struct {
	// Seq is the record's place in the ledger, from 1, in write order.
	Seq uint64 `json:"seq"`
	// Key is the idempotency key the payment was recorded under.
	Key string `json:"key"`
	// PaymentID is payments' id for the payment.
	PaymentID string `json:"paymentId"`
	// ClientPaymentID is the client's name for the logical payment, if it
	// gave one: two records with the same one are a double charge.
	ClientPaymentID string  `json:"clientPaymentId,omitempty"`
	Amount          int64   `json:"amount"`
	Currency        string  `json:"currency"`
	Merchant        string  `json:"merchant"`
	RiskScore       float64 `json:"riskScore"`
}

// sameCharge reports whether two entries describe the same payment, which
// a retry under the same key must.
func (e LedgerEntry) sameCharge(o LedgerEntry) bool {
	return e.Amount == o.Amount && e.Currency == o.Currency && e.Merchant == o.Merchant &&
		e.ClientPaymentID == o.ClientPaymentID
}

// problems lists why e cannot be recorded.
func (e LedgerEntry) problems() []string {
	p := PaymentRequest{Amount: e.Amount, Currency: e.Currency, CardToken: "-", Merchant: e.Merchant, ClientPaymentID: e.ClientPaymentID}
	out := p.problems()
	if !tokenRE.MatchString(e.PaymentID) {
		out = append(out, "paymentId: required, 1 to 255 printable characters without spaces")
	}
	return out
}

// Listing is the ledger's audit listing, GET /v1/ledger/audit: every record
// in write order, and how many writes it refused as repeats of a key.
type Listing struct {
	Entries []LedgerEntry `json:"entries"`
	// Count is len(Entries).
	Count int `json:"count"`
	// DuplicatesRefused counts writes whose key was already recorded:
	// retries that the ledger's idempotency absorbed.
	DuplicatesRefused int64 `json:"duplicatesRefused"`
}

var (
	bucketEntries = []byte("entries")    // key → LedgerEntry JSON
	bucketIDs     = []byte("payments")   // payment id → key
	bucketMeta    = []byte("meta")       // counters
	keyDuplicates = []byte("duplicates") // uint64, big-endian
)

// ledgerStore is the ledger's bbolt file: an append-only bucket of records
// keyed by idempotency key, and an index of their keys by payment id. Each
// write is one transaction, fsynced on commit unless opened with noSync, so
// an acknowledged record survives a crash.
type ledgerStore struct {
	db *bolt.DB
}

func openLedger(path string, noSync bool) (*ledgerStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoSync: noSync})
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEntries, bucketIDs, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	return &ledgerStore{db: db}, nil
}

// append records e under e.Key, unless the key is recorded already: then it
// writes nothing but the refused-duplicate counter, and returns the first
// record. created says which happened.
func (l *ledgerStore) append(e LedgerEntry) (stored LedgerEntry, created bool, err error) {
	err = l.db.Update(func(tx *bolt.Tx) error {
		entries, meta := tx.Bucket(bucketEntries), tx.Bucket(bucketMeta)
		if old := entries.Get([]byte(e.Key)); old != nil {
			if err := json.Unmarshal(old, &stored); err != nil {
				return fmt.Errorf("record %q: %w", e.Key, err)
			}
			created = false
			n := uint64(0)
			if v := meta.Get(keyDuplicates); len(v) == 8 {
				n = binary.BigEndian.Uint64(v)
			}
			return meta.Put(keyDuplicates, binary.BigEndian.AppendUint64(nil, n+1))
		}
		seq, err := entries.NextSequence()
		if err != nil {
			return err
		}
		e.Seq = seq
		stored, created = e, true
		if err := tx.Bucket(bucketIDs).Put([]byte(e.PaymentID), []byte(e.Key)); err != nil {
			return err
		}
		return entries.Put([]byte(e.Key), mustJSON(e))
	})
	if err != nil {
		return LedgerEntry{}, false, fmt.Errorf("ledger append: %w", err)
	}
	return stored, created, nil
}

// byPaymentID reads the record of the payment with id, if there is one.
func (l *ledgerStore) byPaymentID(id string) (e LedgerEntry, found bool, err error) {
	err = l.db.View(func(tx *bolt.Tx) error {
		key := tx.Bucket(bucketIDs).Get([]byte(id))
		if key == nil {
			return nil
		}
		v := tx.Bucket(bucketEntries).Get(key)
		if v == nil {
			return fmt.Errorf("payment %q is indexed under key %q, which has no record", id, key)
		}
		found = true
		return json.Unmarshal(v, &e)
	})
	if err != nil {
		return LedgerEntry{}, false, fmt.Errorf("ledger read: %w", err)
	}
	return e, found, nil
}

// listing reads every record, in write order.
func (l *ledgerStore) listing() (Listing, error) {
	var out Listing
	err := l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyDuplicates); len(v) == 8 {
			out.DuplicatesRefused = int64(binary.BigEndian.Uint64(v))
		}
		return tx.Bucket(bucketEntries).ForEach(func(k, v []byte) error {
			var e LedgerEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("record %q: %w", k, err)
			}
			out.Entries = append(out.Entries, e)
			return nil
		})
	})
	if err != nil {
		return Listing{}, fmt.Errorf("ledger listing: %w", err)
	}
	slices.SortFunc(out.Entries, func(a, b LedgerEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	if out.Entries == nil {
		out.Entries = []LedgerEntry{}
	}
	out.Count = len(out.Entries)
	return out, nil
}

func (l *ledgerStore) close() error {
	if err := l.db.Close(); err != nil && !errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("close ledger: %w", err)
	}
	return nil
}
