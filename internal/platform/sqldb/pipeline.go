package sqldb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Pipelined statements on PostgreSQL.
//
// Every statement database/sql sends is a round trip: the client waits for
// the answer before it sends the next. Many of a write transaction's last
// statements need no answer to go on: an outbox row, ledger rows, the lines
// of what was just inserted. Run with a context marked by Pipelined, such
// an Exec inside a PostgreSQL transaction is not sent at once: it is queued
// on the connection, and the queue goes out, in order, with the
// transaction's next statement that is not queued, or with its COMMIT, as
// one pipelined batch (one round trip). A transaction whose tail is queued
// thus ends in one round trip instead of one per statement plus one.
//
// What the caller gives up: the Exec returns before the statement ran, so
//
//   - its error (a constraint, a conflict) is reported by the statement or
//     the COMMIT it went out with, wrapped so that errors.Is/As still find
//     the server's error; the transaction then fails as a whole, as it
//     would have on PostgreSQL anyway once a statement failed;
//   - asking the Result for RowsAffected sends the queue at once (and waits),
//     so a caller that looks at the count loses nothing but the saving.
//
// So Pipelined is for statements whose failure the caller would only pass
// on: never for one whose error it turns into a different answer (a unique
// key that means "already exists"). On SQLite, outside a transaction and
// behind a pooler in transaction mode outside one, the mark is ignored.

type pipelinedKey struct{}

// pipeStats counts, for a database's pools, the round trips pipelining
// saved: a batch of n statements is one round trip instead of n.
type pipeStats struct{ saved atomic.Uint64 }

// RoundTripsSaved reports how many round trips pipelined statements saved
// since the database was opened; 0 on SQLite.
func (db *DB) RoundTripsSaved() uint64 {
	if db.pipe == nil {
		return 0
	}
	return db.pipe.saved.Load()
}

// Pipelined marks ctx so that an Exec run with it inside a PostgreSQL
// transaction may be queued and sent with the transaction's next statement
// or its COMMIT (see above).
func Pipelined(ctx context.Context) context.Context {
	return context.WithValue(ctx, pipelinedKey{}, true)
}

func isPipelined(ctx context.Context) bool {
	v, _ := ctx.Value(pipelinedKey{}).(bool)
	return v
}

// queuedExec is a statement waiting to be sent, with the result its Exec
// handed back.
type queuedExec struct {
	query string
	args  []any
	res   *queuedResult
}

// queuedResult is the driver.Result of a queued Exec: it sends the queue
// when asked for what only the server knows.
type queuedResult struct {
	conn *pgConn
	ctx  context.Context
	sent bool
	tag  pgconn.CommandTag
	err  error
}

func (r *queuedResult) LastInsertId() (int64, error) {
	return 0, fmt.Errorf("sqldb: LastInsertId is not supported by PostgreSQL (use RETURNING)")
}

func (r *queuedResult) RowsAffected() (int64, error) {
	if !r.sent {
		if err := r.conn.flush(r.ctx); err != nil && r.err == nil {
			return 0, err
		}
	}
	if r.err != nil {
		return 0, r.err
	}
	return r.tag.RowsAffected(), nil
}

// queue queues an Exec when ctx asks for it and the connection is in a
// transaction that has not failed; ok reports whether it did.
func (c *pgConn) queue(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, bool) {
	if !isPipelined(ctx) || c.Conn.Conn().PgConn().TxStatus() != 'T' {
		return nil, false
	}
	r := &queuedResult{conn: c, ctx: context.WithoutCancel(ctx)}
	c.queued = append(c.queued, queuedExec{query: query, args: argValues(args), res: r})
	return r, true
}

// argValues are a statement's arguments as a pgx batch takes them, byte
// slices copied: the caller of a queued Exec may reuse its buffer once
// Exec has returned.
func argValues(args []driver.NamedValue) []any {
	values := make([]any, len(args))
	for i, a := range args {
		if b, ok := a.Value.([]byte); ok {
			a.Value = append([]byte(nil), b...)
		}
		values[i] = a.Value
	}
	return values
}

// batchable reports whether query may go out in a batch: the extended
// protocol a batch uses takes one statement per query, and a query without
// arguments may hold several (they go out in the simple protocol).
func batchable(query string, args []driver.NamedValue) bool {
	return len(args) > 0 || !strings.Contains(query, ";")
}

// flush sends the queued statements as one batch and waits for their
// answers. The first failure is returned (and given to its own result);
// the statements after it did not run.
func (c *pgConn) flush(ctx context.Context) error {
	_, err := c.send(ctx, "", nil)
	return c.lost(ctx, err)
}

// send sends the queued statements followed by last (when not "") as one
// batch and returns last's command tag. A queued statement's failure is
// returned for last, which then did not run.
func (c *pgConn) send(ctx context.Context, last string, args []any) (pgconn.CommandTag, error) {
	queued := c.queued
	c.queued = nil
	if len(queued) == 0 && last == "" {
		return pgconn.CommandTag{}, nil
	}
	b := &pgx.Batch{}
	for _, q := range queued {
		b.Queue(q.query, q.args...)
	}
	if last != "" {
		b.Queue(last, args...)
	}
	if c.pipe != nil && b.Len() > 1 {
		c.pipe.saved.Add(uint64(b.Len() - 1))
	}
	br := c.Conn.Conn().SendBatch(ctx, b)
	var first error
	for _, q := range queued {
		tag, err := br.Exec()
		q.res.sent = true
		if first != nil {
			// Not run: the batch stopped at the first failure.
			q.res.err = first
			continue
		}
		q.res.tag = tag
		if err != nil {
			q.res.err = fmt.Errorf("sqldb: a pipelined statement failed: %w", err)
			first = q.res.err
		}
	}
	var tag pgconn.CommandTag
	if last != "" {
		t, err := br.Exec()
		if first == nil {
			tag, first = t, err
		}
	}
	if err := br.Close(); first == nil {
		first = err
	}
	return tag, first
}

// discard forgets the queued statements: the transaction is rolled back.
func (c *pgConn) discard() {
	for _, q := range c.queued {
		q.res.sent = true
		q.res.err = fmt.Errorf("sqldb: the transaction was rolled back before this statement was sent")
	}
	c.queued = nil
}

// execQueued runs a statement that is not queued on a connection that may
// have queued ones: both go out in one batch when the statement can join
// one, else the queue goes first.
func (c *pgConn) execQueued(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if !batchable(query, args) {
		if err := c.flush(ctx); err != nil {
			return nil, err
		}
		return c.Conn.ExecContext(ctx, query, args)
	}
	tag, err := c.send(ctx, query, argValues(args))
	if err != nil {
		return nil, c.lost(ctx, err)
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

// commitQueued sends the queued statements and COMMIT as one batch. When a
// queued statement failed, COMMIT did not run and the transaction is
// rolled back here; its error is the statement's. The error is unmarked:
// pgxTx.Commit tells a lost connection from an unknown outcome.
func (c *pgConn) commitQueued(ctx context.Context) error {
	_, err := c.send(ctx, "commit", nil)
	conn := c.Conn.Conn()
	if err != nil && !conn.IsClosed() && conn.PgConn().TxStatus() != 'I' {
		if _, rerr := conn.Exec(context.WithoutCancel(ctx), "rollback"); rerr != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
		}
	}
	return err
}
