package sqldb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Group commit on PostgreSQL: the batch runner (see groupcommit.go for
// what a caller is promised, and decision 0039 for why).

// The savepoint statements of a PostgreSQL batch, sent as simple queries.
const (
	pgSavepoint = "SAVEPOINT grp"
	pgRelease   = "RELEASE SAVEPOINT grp"
	pgRollback  = "ROLLBACK TO SAVEPOINT grp"
)

// openSavepointKey, in the context of a BEGIN, makes it open the first
// member's savepoint in the same round trip (see beginQuery).
type openSavepointKey struct{}

// batchLockTimeout is the lock_timeout of a batch's transaction. Services
// take their locks in a fixed order (stock by SKU) within a transaction,
// so transactions alone do not deadlock; but a batch holds the locks of
// all its members until its COMMIT, in the order its members came, and
// two batches (or a batch and a lone transaction) can wait for each other.
// PostgreSQL finds such a deadlock only after deadlock_timeout (1 s by
// default, settable by superusers only), while both lanes and every
// member queued behind them stall. Every such cycle has a batch member
// waiting in it, so a member that waits for a lock longer than this gives
// up (55P03), is rolled back to its savepoint, releasing the locks it
// took, and runs again (errLockWait): the others' batch goes on. It is
// several times what a batch takes to commit, the wait a member is
// normally in for (decision 0039).
const batchLockTimeout = "30ms"

// errLockWait tells a member of a batch that it waited too long for a lock
// (see batchLockTimeout): Tx runs it again.
var errLockWait = errors.New("sqldb: waited too long for a lock in a shared transaction; retrying")

// isLockTimeout reports whether err is PostgreSQL's lock_not_available.
func isLockTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03"
}

// afterBatchCommit, when set (by tests), runs after a batch of more than
// one member has committed and before any member is answered.
var afterBatchCommit func()

// runPostgres executes one batch on a connection of the pool and answers
// every request in it. A lone transaction runs as it would without group
// commit (runTx: a BEGIN with its tenant, no savepoint), begun without its
// caller's cancellation.
func (c *committer) runPostgres(live []*txRequest) {
	if len(live) == 1 {
		r := live[0]
		// Not cancelled with its caller, as on SQLite (see DB.WriteTx).
		r.done <- outcome{err: runTx(context.WithoutCancel(r.ctx), c.w, nil, r.fn)}
		return
	}
	answerAll := func(err error) {
		for _, r := range live {
			r.done <- outcome{err: err}
		}
	}
	// The batch outlives any one caller: its statements are sent without
	// cancellation. Its BEGIN sets the first member's tenant and opens its
	// savepoint.
	bctx := context.WithoutCancel(live[0].ctx)
	conn, err := c.w.Conn(bctx)
	if err != nil {
		answerAll(fmt.Errorf("sqldb: begin: %w", err))
		return
	}
	defer conn.Close()
	var pc *pgConn
	if err := conn.Raw(func(dc any) error {
		p, ok := dc.(*pgConn)
		if !ok {
			return fmt.Errorf("sqldb: unexpected postgres connection %T", dc)
		}
		pc = p
		return nil
	}); err != nil {
		answerAll(fmt.Errorf("sqldb: begin: %w", err))
		return
	}
	// The members' statements, whatever context they are given, must not
	// make pgx close the connection the whole batch runs on.
	pc.shared = true
	defer func() { pc.shared = false }()
	tx, err := conn.BeginTx(context.WithValue(bctx, openSavepointKey{}, true), nil)
	if err != nil {
		answerAll(fmt.Errorf("sqldb: begin: %w", err))
		return
	}
	var (
		ok     []*txRequest
		failed []failure
	)
	// lost answers every member: the session ended before COMMIT, and
	// with it the whole transaction; each runs again (see Tx).
	lost := func(cause error) {
		_ = tx.Rollback()
		if !isLost(cause) {
			cause = &lostError{err: cause}
		}
		answerAll(cause)
	}
	// abort answers every member after a savepoint statement failed on a
	// live connection: the transaction can no longer be trusted, and
	// rolling it back undoes every member, which therefore runs again.
	abort := func(cause error) {
		_ = tx.Rollback()
		for _, r := range live {
			r.done <- outcome{err: errors.Join(errBatchAborted, cause)}
		}
	}
	prevFailed := false
	for i, r := range live {
		if i > 0 {
			if _, err := tx.ExecContext(bctx, c.nextMark(r.ctx, prevFailed)); err != nil {
				if pc.closed() {
					lost(err)
				} else {
					abort(err)
				}
				return
			}
		}
		ferr := call(r.fn, tx)
		if ferr == nil && len(pc.queued) > 0 && !pc.closed() {
			// The member's pipelined statements (pipeline.go) go out now,
			// so that their failure is the member's own, rolled back to its
			// savepoint, and not the whole batch's at COMMIT.
			ferr = pc.flush(bctx)
		}
		if !pc.closed() && pc.txStatus() == 'I' {
			// fn ended the shared transaction behind database/sql's back:
			// the earlier members' work is gone, and they run again; fn
			// hears of its own failure, as on SQLite.
			_ = tx.Rollback()
			if ferr == nil {
				ferr = errors.New("sqldb: the transaction ended inside fn")
			}
			for _, o := range live[:i] {
				o.done <- outcome{err: errBatchAborted}
			}
			r.done <- outcome{err: ferr}
			for _, o := range live[i+1:] {
				o.done <- outcome{err: errBatchAborted}
			}
			return
		}
		if pc.closed() {
			// Whatever fn made of it, the connection was lost (see runTx).
			if ferr == nil {
				ferr = errEnded
			}
			lost(ferr)
			return
		}
		if ferr == nil && pc.txStatus() == 'E' {
			// fn went on after a failed statement: alone, its COMMIT
			// would have been a rollback.
			ferr = fmt.Errorf("sqldb: commit: %w", pgx.ErrTxCommitRollback)
		}
		if isLockTimeout(ferr) && !Retryable(ferr) {
			ferr = errors.Join(errLockWait, ferr)
		}
		if ferr != nil {
			failed = append(failed, failure{r: r, err: ferr})
		} else {
			ok = append(ok, r)
		}
		prevFailed = ferr != nil
	}
	if len(ok) == 0 {
		_ = tx.Rollback()
		for _, f := range failed {
			f.r.done <- outcome{err: f.err}
		}
		return
	}
	if prevFailed {
		// COMMIT releases the last savepoint, but would keep a failed
		// member's work.
		if _, err := tx.ExecContext(bctx, pgRollback); err != nil {
			if pc.closed() {
				lost(err)
			} else {
				abort(err)
			}
			return
		}
	}
	if err := tx.Commit(); err != nil {
		err = fmt.Errorf("sqldb: commit: %w", err)
		var cu *commitUnknownError
		switch {
		case isLost(err):
			answerAll(err)
		case errors.As(err, &cu):
			// Sent, and no answer: every member may or may not have
			// committed, and none runs again.
			answerAll(err)
		default:
			// The server refused the COMMIT (a deferred constraint, a
			// serialization failure): nothing of the batch holds.
			for _, r := range ok {
				r.done <- outcome{err: errors.Join(errBatchAborted, err)}
			}
			for _, f := range failed {
				f.r.done <- outcome{err: errors.Join(errBatchAborted, f.err)}
			}
		}
		return
	}
	if afterBatchCommit != nil {
		afterBatchCommit()
	}
	for _, r := range ok {
		r.done <- outcome{err: nil}
	}
	for _, f := range failed {
		f.r.done <- outcome{err: f.err}
	}
}

// nextMark is the one simple query that ends the previous member's
// savepoint (rolled back first if it failed), opens the next member's and,
// on a scoped pool, sets its tenant: one round trip per member.
func (c *committer) nextMark(ctx context.Context, prevFailed bool) string {
	var b strings.Builder
	if prevFailed {
		b.WriteString(pgRollback + "; ")
	}
	b.WriteString(pgRelease + "; " + pgSavepoint)
	if c.scoped {
		writeSettings(&b, []setting{{tenantSetting, tenantOf(ctx)}})
	}
	return b.String()
}
