package sqldb

import (
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mercato/mercato/internal/platform/tenancy"
)

var benchTables = Migrations{Table: "bench_gc_version", FS: fstest.MapFS{
	"0001_bench.sql": {Data: []byte(`-- +goose Up
CREATE TABLE stock (tenant_id TEXT NOT NULL, sku BIGINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (tenant_id, sku));
CREATE TABLE moves (tenant_id TEXT NOT NULL, id BIGINT NOT NULL, sku BIGINT NOT NULL, PRIMARY KEY (tenant_id, id));
-- +goose Down
DROP TABLE moves;
DROP TABLE stock;
`)},
}}

// BenchmarkPgGroupCommit runs small write transactions (3 statements: read
// a stock row, decrement it, record the move) from 32 goroutines on
// PostgreSQL with row-level security, with group commit off and on, on a
// pool of 3 (a checkout service's share of the default budget) and of 10,
// with 1 lane, half the pool and the whole pool (the default). tx/s is
// the rate; retries/tx counts runs again (lock waits given up, deadlocks,
// aborted batches); deadlocks/tx and lockwaits/tx count the members that
// met a deadlock (40P01) or gave up waiting for a lock (55P03). Stock rows
// are drawn from 1000 SKUs of 4 tenants, or from 20 (hot: members of
// batches of different lanes wait for each other's rows).
func BenchmarkPgGroupCommit(b *testing.B) {
	url := pgTestURL(b)
	tenants := []string{"t1", "t2", "t3", "t4"}
	type setup struct{ skus, pool, lanes int }
	var setups []setup
	for _, skus := range []int{1000, 20} {
		for _, pool := range []int{3, 10} {
			for _, lanes := range []int{-1, 1, pool / 2, pool} {
				if n := len(setups); n > 0 && setups[n-1] == (setup{skus, pool, lanes}) {
					continue
				}
				setups = append(setups, setup{skus, pool, lanes})
			}
		}
	}
	for _, s := range setups {
		skus, lanes := s.skus, s.lanes
		name := fmt.Sprintf("skus=%d/pool=%d/lanes=%d", skus, s.pool, lanes)
		if lanes < 0 {
			name = fmt.Sprintf("skus=%d/pool=%d/off", skus, s.pool)
		}
		b.Run(name, func(b *testing.B) {
			db := openTestDB(b, Options{URL: url, RowSecurity: true, MaxConns: s.pool, GroupCommitLanes: lanes}, benchTables)
			all := AllTenants(b.Context())
			if err := db.Tx(all, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(all, `INSERT INTO stock (tenant_id, sku, n)
					SELECT t, s, 1000000000 FROM unnest($1::text[]) t, generate_series(1, $2::int) s`, tenants, skus)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			var ids, runs, deadlocks, lockWaits atomic.Int64
			// counted notes the errors a member's statement met.
			counted := func(err error) error {
				var pe *pgconn.PgError
				if errors.As(err, &pe) {
					switch pe.Code {
					case "40P01":
						deadlocks.Add(1)
					case "55P03":
						lockWaits.Add(1)
					}
				}
				return err
			}
			// 32 goroutines in all, whatever GOMAXPROCS.
			b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tenant := tenants[rand.N(len(tenants))]
					ctx := tenancy.WithID(b.Context(), tenant)
					sku := 1 + rand.N(skus)
					id := ids.Add(1)
					if err := db.Tx(ctx, func(tx *sql.Tx) error {
						runs.Add(1)
						var n int64
						if err := tx.QueryRowContext(ctx, `SELECT n FROM stock WHERE tenant_id = $1 AND sku = $2`, tenant, sku).Scan(&n); err != nil {
							return counted(err)
						}
						if _, err := tx.ExecContext(ctx, `UPDATE stock SET n = n - 1 WHERE tenant_id = $1 AND sku = $2`, tenant, sku); err != nil {
							return counted(err)
						}
						_, err := tx.ExecContext(ctx, `INSERT INTO moves (tenant_id, id, sku) VALUES ($1, $2, $3)`, tenant, id, sku)
						return counted(err)
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
			b.ReportMetric(float64(runs.Load()-int64(b.N))/float64(b.N), "retries/tx")
			b.ReportMetric(float64(deadlocks.Load())/float64(b.N), "deadlocks/tx")
			b.ReportMetric(float64(lockWaits.Load())/float64(b.N), "lockwaits/tx")
		})
	}
}
