package fleet

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkLedgerAppend measures one new record: one bbolt transaction,
// with and without the fsync on commit.
func BenchmarkLedgerAppend(b *testing.B) {
	for _, noSync := range []bool{true, false} {
		b.Run(fmt.Sprintf("nosync=%t", noSync), func(b *testing.B) {
			l, err := openLedger(filepath.Join(b.TempDir(), "l.db"), noSync)
			if err != nil {
				b.Fatal(err)
			}
			defer l.close()
			e := LedgerEntry{PaymentID: "pay_x", Amount: 1, Currency: "EUR", Merchant: "m"}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				e.Key = fmt.Sprintf("k%d", i)
				if _, _, err := l.append(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
