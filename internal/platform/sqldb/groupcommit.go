package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Group commit.
//
// SQLite has one writer, and with synchronous=FULL each commit waits for an
// fsync: under concurrent load a service's writes queue behind each other's
// fsyncs. On PostgreSQL each transaction costs a BEGIN, a COMMIT (a WAL
// flush) and their round trips, which decision 0012 measured to dominate
// a checkout. The committer runs the write transactions that are queued
// when a writer becomes free as one database transaction, each inside a
// savepoint, and commits them at once. To each caller it is as if its
// transaction ran alone, after those before it in the batch:
//
//   - its fn sees what earlier fns of the batch wrote (as serial execution
//     would) and nothing of later ones;
//   - an fn that fails is rolled back to its savepoint; the others are
//     unaffected;
//   - a caller hears of its outcome, success or failure, only after the
//     batch has committed, so it never acts on a write that is not durable,
//     nor on a failure caused by one: an fn that fails on a unique key an
//     earlier fn of the batch inserted must not send its caller to read the
//     winner's row before that row can be read;
//   - if the batch cannot commit, or a failed statement made SQLite abandon
//     the whole transaction (an interrupt does that), every caller gets
//     errBatchAborted, which Tx retries: a failed fn too, since what made
//     it fail may be among what was rolled back.
//
// A lone transaction (no one else waiting) runs without a savepoint, as
// before; batching adds no wait of its own: it only takes what queued up
// while the writers were busy.
//
// Lanes. SQLite has one writer, so one batch runs at a time (one lane).
// PostgreSQL takes many writers: up to lanes batches run at once, each on
// a pooled connection of its own (Options.GroupCommitLanes). A caller that
// finds a lane free leads a batch at once; the others queue, and the next
// leader to finish hands its lane to the first of them, which takes the
// queue as its batch.
//
// PostgreSQL specifics (see runPostgres): the batch's BEGIN carries the
// first member's tenant (row-level security) and its savepoint; each
// further member costs one round trip, which releases (or rolls back to)
// the previous member's savepoint, opens its own and sets its tenant, as
// one simple query. COMMIT releases the last. While a batch runs, its
// connection sends statements without their caller's cancellation (pgx
// closes a connection whose statement is cancelled, which would end every
// member's work); a member whose caller gives up still runs to its end. A
// lost connection is answered as runTx answers it, for every member: lost
// before COMMIT was sent, every member runs again (lostError); lost after,
// every member gets ErrCommitUnknown.
//
// Caveat: fns of one batch run one after another on the leading caller's
// goroutine, each with its own context.

// maxBatch bounds how many transactions share one commit.
const maxBatch = 64

// errBatchAborted tells a caller that its fn succeeded but the transaction
// it shared with others was rolled back as a whole; Tx runs it again.
var errBatchAborted = errors.New("sqldb: shared transaction rolled back; retrying")

var errClosed = errors.New("sqldb: database closed")

// outcome is what a waiting caller is told: its transaction's result, or
// that it is to lead the next batch (its own transaction first in it).
type outcome struct {
	err  error
	lead bool
}

type txRequest struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan outcome // buffered, 1
}

// committer batches the write transactions of one database. It has no
// goroutine of its own: a caller that finds a lane free leads, running
// one batch that begins with its own transaction, then hands the lane to
// the first caller still waiting, if any. (A goroutine of its own would
// also break tests that run callers inside a testing/synctest bubble.)
type committer struct {
	w *sql.DB
	// lanes bounds the batches run at once: 1 on SQLite.
	lanes int
	// pg: the writer is PostgreSQL; scoped: its transactions set their
	// tenant (row-level security).
	pg, scoped bool
	mu         sync.Mutex
	queue      []*txRequest
	leaders    int // batches running, at most lanes
	closed     bool
	// marks are the savepoint statements, prepared on the SQLite writer.
	marks map[string]*sql.Stmt
}

// newCommitter returns the committer of the SQLite writer pool w (one
// connection), with the savepoint statements prepared on it: now, while
// no transaction holds the connection (preparing on the pool during a
// batch would wait for the batch's own connection).
func newCommitter(ctx context.Context, w *sql.DB) (*committer, error) {
	c := &committer{w: w, lanes: 1, marks: map[string]*sql.Stmt{}}
	for _, stmt := range []string{markSavepoint, markRelease, markRollback} {
		st, err := w.PrepareContext(ctx, stmt)
		if err != nil {
			return nil, fmt.Errorf("sqldb: prepare %s: %w", stmt, err)
		}
		c.marks[stmt] = st
	}
	return c, nil
}

// newPgCommitter returns the committer of the PostgreSQL pool w, running
// up to lanes batches at once. Its savepoint statements are simple queries
// built per member (they carry the member's tenant): nothing to prepare.
func newPgCommitter(w *sql.DB, lanes int, scoped bool) *committer {
	return &committer{w: w, lanes: max(lanes, 1), pg: true, scoped: scoped}
}

// The savepoint statements of a batch.
const (
	markSavepoint = "SAVEPOINT grp"
	markRelease   = "RELEASE grp"
	markRollback  = "ROLLBACK TO grp"
)

// do runs fn in a batch and returns its outcome.
func (c *committer) do(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &txRequest{ctx: ctx, fn: fn, done: make(chan outcome, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	if c.leaders < c.lanes {
		// A lane is free: lead. (The queue is empty: a leader that
		// finishes hands its lane on while anyone waits.)
		c.leaders++
	} else {
		c.queue = append(c.queue, req)
		c.mu.Unlock()
		// Once queued, wait for the outcome even if ctx ends: fn may be
		// running, and the caller must not believe it did not happen when
		// it did.
		o := <-req.done
		if !o.lead {
			return o.err
		}
		c.mu.Lock() // leading, with the lane handed over
	}
	n := min(len(c.queue), maxBatch-1)
	batch := make([]*txRequest, 0, n+1)
	batch = append(append(batch, req), c.queue[:n]...)
	c.queue = append(c.queue[:0], c.queue[n:]...)
	c.mu.Unlock()
	c.run(batch)
	o := <-req.done // req was in the batch: answered
	c.mu.Lock()
	if len(c.queue) == 0 {
		c.leaders--
	} else {
		next := c.queue[0]
		c.queue = append(c.queue[:0], c.queue[1:]...)
		next.done <- outcome{lead: true}
	}
	c.mu.Unlock()
	return o.err
}

// close refuses transactions from now on; a batch in progress finishes.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// mark runs one of the savepoint statements (prepared once: every
// transaction of a batch runs two of them) in tx.
func (c *committer) mark(ctx context.Context, tx *sql.Tx, stmt string) error {
	_, err := tx.StmtContext(ctx, c.marks[stmt]).ExecContext(ctx)
	return err
}

// run executes one batch and answers every request in it.
func (c *committer) run(batch []*txRequest) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- outcome{err: err} // gave up while queued: never ran
			continue
		}
		live = append(live, r)
	}
	switch {
	case len(live) == 0:
	case c.pg:
		c.runPostgres(live)
	default:
		c.runSQLite(live)
	}
}

// runSQLite executes one batch on the SQLite writer.
func (c *committer) runSQLite(live []*txRequest) {
	// The transaction outlives any one caller's context; each fn's
	// statements run under the context its caller gives them (see
	// DB.WriteTx).
	tx, err := c.w.BeginTx(context.WithoutCancel(live[0].ctx), nil)
	if err != nil {
		err = fmt.Errorf("sqldb: begin: %w", err)
		for _, r := range live {
			r.done <- outcome{err: err}
		}
		return
	}
	if len(live) == 1 {
		r := live[0]
		if err := call(r.fn, tx); err != nil {
			_ = tx.Rollback()
			r.done <- outcome{err: err}
			return
		}
		if err := tx.Commit(); err != nil {
			r.done <- outcome{err: fmt.Errorf("sqldb: commit: %w", err)}
			return
		}
		r.done <- outcome{err: nil}
		return
	}

	// ok succeeded, failed did not; both hear of it once the batch's fate
	// is known.
	var ok []*txRequest
	var failed []failure
	abort := func(cause error) {
		_ = tx.Rollback()
		for _, r := range ok {
			r.done <- outcome{err: errors.Join(errBatchAborted, cause)}
		}
		for _, f := range failed {
			f.r.done <- outcome{err: errors.Join(errBatchAborted, f.err)}
		}
	}
	for i, r := range live {
		if err := c.mark(context.WithoutCancel(r.ctx), tx, markSavepoint); err != nil {
			// The transaction is gone: nothing in it holds.
			abort(err)
			for _, rest := range live[i:] {
				rest.done <- outcome{err: errors.Join(errBatchAborted, err)}
			}
			return
		}
		ferr := call(r.fn, tx)
		if ferr == nil {
			if err := c.mark(context.WithoutCancel(r.ctx), tx, markRelease); err != nil {
				ferr = err
			} else {
				ok = append(ok, r)
				continue
			}
		}
		if err := c.mark(context.WithoutCancel(r.ctx), tx, markRollback); err != nil {
			// SQLite rolled the whole transaction back (an interrupted
			// write does): the earlier fns' effects are gone too.
			abort(err)
			r.done <- outcome{err: ferr}
			for _, rest := range live[i+1:] {
				rest.done <- outcome{err: errors.Join(errBatchAborted, err)}
			}
			return
		}
		_ = c.mark(context.WithoutCancel(r.ctx), tx, markRelease)
		failed = append(failed, failure{r: r, err: ferr})
	}
	if len(ok) == 0 {
		_ = tx.Rollback()
		for _, f := range failed {
			f.r.done <- outcome{err: f.err}
		}
		return
	}
	if err := tx.Commit(); err != nil {
		err = fmt.Errorf("sqldb: commit: %w", err)
		for _, r := range ok {
			r.done <- outcome{err: errors.Join(errBatchAborted, err)}
		}
		for _, f := range failed {
			f.r.done <- outcome{err: errors.Join(errBatchAborted, f.err)}
		}
		return
	}
	for _, r := range ok {
		r.done <- outcome{err: nil}
	}
	for _, f := range failed {
		f.r.done <- outcome{err: f.err}
	}
}

// failure is a transaction of a batch whose fn failed, with its error.
type failure struct {
	r   *txRequest
	err error
}

// call runs fn, turning a panic into an error so one caller's bug cannot
// take the shared writer down.
func call(fn func(tx *sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqldb: panic in transaction: %v", p)
		}
	}()
	return fn(tx)
}
