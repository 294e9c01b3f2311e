package bench

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/mercato/mercato/internal/platform/sqldb"
)

// rawSchema is the least a checkout must write, in the portable SQL subset:
// stock with its CHECK, an order, its lines and one outbox row.
var rawSchema = []string{
	`CREATE TABLE IF NOT EXISTS raw_stock (sku TEXT PRIMARY KEY, on_hand BIGINT NOT NULL CHECK (on_hand >= 0))`,
	`CREATE TABLE IF NOT EXISTS raw_orders (id TEXT PRIMARY KEY, email TEXT NOT NULL, status TEXT NOT NULL, total BIGINT NOT NULL, currency TEXT NOT NULL, created_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS raw_order_lines (order_id TEXT NOT NULL REFERENCES raw_orders (id), line_no BIGINT NOT NULL, sku TEXT NOT NULL, quantity BIGINT NOT NULL, unit_price BIGINT NOT NULL, PRIMARY KEY (order_id, line_no))`,
	`CREATE TABLE IF NOT EXISTS raw_outbox (id TEXT PRIMARY KEY, subject TEXT NOT NULL, envelope TEXT NOT NULL, created_at BIGINT NOT NULL)`,
}

// RawCheckout is the baseline of the checkout benchmark: the checkout's
// essential transaction run directly on a database, with no HTTP, no bus
// and no services in between.
type RawCheckout struct {
	// DB is a scratch database of the engine under test; RawCheckout creates
	// its tables there (raw_*) and fills raw_stock.
	DB *sqldb.DB
	// SKUs is how many SKUs the stock table holds; each transaction buys
	// three of them.
	SKUs int
}

// Run runs the transaction from l.Workers goroutines for l.Warmup, then
// for l.Duration measured, and returns the figures of the measured phase
// (Throughput is committed transactions per second). Each transaction
// decrements the stock of three SKUs with one conditional UPDATE each,
// inserts an order, its three lines and an outbox row, and commits, on its
// own: one commit (and on SQLite one fsync) per checkout.
func (rc RawCheckout) Run(ctx context.Context, l Load) (Result, error) {
	if err := l.Validate(); err != nil {
		return Result{}, fmt.Errorf("raw checkout: %w", err)
	}
	skus := max(rc.SKUs, 3)
	if err := rc.setup(ctx, skus); err != nil {
		return Result{}, err
	}
	if l.Warmup > 0 {
		rc.phase(ctx, l.Workers, l.Rate, l.Warmup, skus, nil)
	}
	var (
		mu sync.Mutex
		c  collector
	)
	c.res.Target = "raw transaction"
	rc.phase(ctx, l.Workers, l.Rate, l.Duration, skus, func(r *vegeta.Result) {
		mu.Lock()
		c.add(r, nil)
		mu.Unlock()
	})
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("raw checkout: %w", err)
	}
	return c.close(), nil
}

func (rc RawCheckout) setup(ctx context.Context, skus int) error {
	for _, stmt := range rawSchema {
		if _, err := rc.DB.Write().ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("raw checkout: create tables: %w", err)
		}
	}
	return rc.DB.Tx(ctx, func(tx *sql.Tx) error {
		for i := range skus {
			// Stock no run can exhaust: the figure is the transaction's cost,
			// not how fast SKUs sell out.
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO raw_stock (sku, on_hand) VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET on_hand = excluded.on_hand`,
				fmt.Sprintf("RAW-%03d", i), int64(1)<<40); err != nil {
				return fmt.Errorf("raw checkout: fill stock: %w", err)
			}
		}
		return nil
	})
}

// phase runs workers for d, at most rate transactions a second when rate
// is set (as the load generator paces Mercato's side, so that both sides
// of a rate-mode comparison get the same load); add, when set, receives
// every transaction's outcome as a vegeta result so the same collector
// reduces it.
func (rc RawCheckout) phase(ctx context.Context, workers, rate int, d time.Duration, skus int, add func(*vegeta.Result)) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		wg  sync.WaitGroup
		seq atomic.Uint64
	)
	begin := time.Now()
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := seq.Add(1)
				if rate > 0 {
					due := begin.Add(time.Duration(n-1) * time.Second / time.Duration(rate))
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Until(due)):
					}
				}
				start := time.Now()
				err := rc.checkout(ctx, n, skus)
				if err != nil && ctx.Err() != nil {
					// The phase ended mid-transaction (database/sql then
					// rolls it back): not an outcome.
					return
				}
				if add == nil {
					continue
				}
				r := &vegeta.Result{Timestamp: start, Latency: time.Since(start), Code: 200}
				if err != nil {
					r.Code, r.Error = 500, err.Error()
				}
				add(r)
			}
		})
	}
	wg.Wait()
}

// checkout is the transaction itself.
func (rc RawCheckout) checkout(ctx context.Context, n uint64, skus int) error {
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UnixMicro()
	// A plain transaction on the writer pool: the baseline is one commit per
	// checkout, as a program without Mercato's platform would do it (not
	// sqldb.Tx, whose group commit would batch the baseline too).
	tx, err := rc.DB.Write().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := rawWrites(ctx, tx, id, n, skus, now); err != nil {
		return err
	}
	return tx.Commit()
}

// rawWrites are the raw transaction's statements.
func rawWrites(ctx context.Context, tx *sql.Tx, id string, n uint64, skus int, now int64) error {
	for i := range 3 {
		sku := fmt.Sprintf("RAW-%03d", (int(n)*3+i)%skus)
		res, err := tx.ExecContext(ctx, `UPDATE raw_stock SET on_hand = on_hand - $1 WHERE sku = $2 AND on_hand >= $1`, int64(1), sku)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil || k != 1 {
			return fmt.Errorf("out of stock: %s", sku)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO raw_orders (id, email, status, total, currency, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, "bench@example.com", "confirmed", int64(3*1290+490), "EUR", now); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO raw_order_lines (order_id, line_no, sku, quantity, unit_price) VALUES ($1, 1, $2, 1, 1290), ($1, 2, $3, 1, 1290), ($1, 3, $4, 1, 1290)`,
		id, fmt.Sprintf("RAW-%03d", (int(n)*3)%skus), fmt.Sprintf("RAW-%03d", (int(n)*3+1)%skus), fmt.Sprintf("RAW-%03d", (int(n)*3+2)%skus)); err != nil {
		return err
	}
	envelope := fmt.Sprintf(`{"id":%q,"type":"order.confirmed.v1","source":"order","tenant":"default","data":{"id":%q}}`, id, id)
	_, err := tx.ExecContext(ctx, `INSERT INTO raw_outbox (id, subject, envelope, created_at) VALUES ($1, $2, $3, $4)`,
		uuid.Must(uuid.NewV7()).String(), "order.confirmed.v1", envelope, now)
	return err
}
