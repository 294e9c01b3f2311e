package outbox_test

import (
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// BenchmarkRelayFlush measures the relay end to end: each operation writes
// rows outbox rows (untimed), then times the Flush that publishes them, in
// batches of 100, to the embedded NATS server (fsync on every message) and
// stamps them published. SQLite always, PostgreSQL when MERCATO_TEST_POSTGRES
// is set. msgs/s is rows published and stamped per second of Flush.
func BenchmarkRelayFlush(b *testing.B) {
	engines := []struct{ name, url string }{{"sqlite", ""}, {"postgres", os.Getenv(sqldbtest.PostgresEnv)}}
	for _, eng := range engines {
		for _, rows := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/rows=%d", eng.name, rows), func(b *testing.B) {
				if eng.name == "postgres" && eng.url == "" {
					b.Skip(sqldbtest.PostgresEnv + " is not set")
				}
				benchRelayFlush(b, sqldbtest.Open(b, eng.url, outbox.Migrations), rows)
			})
		}
	}
}

func benchRelayFlush(b *testing.B, db *sqldb.DB, rows int) {
	ctx := tenancy.WithID(b.Context(), "acme")
	srv, bs := embeddedBus(b, b.TempDir())
	b.Cleanup(func() { bs.Close(); srv.Shutdown() })
	relay := outbox.NewRelay(db, bs, slog.New(slog.DiscardHandler), outbox.RelayConfig{})
	events := make([]outbox.Envelope, rows)
	total := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i := range events {
			e, err := outbox.NewEvent(ctx, "bench", "order.placed.v1", time.Now(), placed{OrderID: fmt.Sprintf("o-%d", i)})
			if err != nil {
				b.Fatal(err)
			}
			events[i] = e
		}
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return outbox.Add(ctx, tx, events...) }); err != nil {
			b.Fatalf("write outbox rows: %v", err)
		}
		b.StartTimer()
		n, err := relay.Flush(ctx)
		if err != nil || n != rows {
			b.Fatalf("flush = %d, %v; want %d", n, err, rows)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
}
