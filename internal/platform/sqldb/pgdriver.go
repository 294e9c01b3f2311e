package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL connections that die.
//
// A database restart, a failover or pg_terminate_backend ends the sessions
// of every pooled connection at once. The server says so (an error 57P01
// and a closed socket) to clients that are not listening, and pgx learns
// of it only when it next uses the connection. database/sql retries a
// statement or a BEGIN on another connection only when the driver answers
// driver.ErrBadConn, which pgx's stdlib does only when nothing was sent; a
// statement sent to a dead session fails, whatever it was. So the pools'
// connections are wrapped (pgConn) to:
//
//   - look at the socket, without a round trip, each time database/sql takes
//     a connection from the pool, and discard one the server has hung up on
//     before anything is sent on it (database/sql then takes another: twice
//     from the pool, then a new connection). pgx's own check, a ping after a
//     second idle, stays for networks that drop a connection silently;
//   - never put back in the pool a connection pgx has closed after an error;
//   - answer driver.ErrBadConn to a BEGIN that fails on a dead connection
//     (BEGIN changes nothing, so it may run again elsewhere);
//   - not send COMMIT on a connection the server has hung up on: the
//     session, and with it the transaction, is gone, and Tx runs the
//     transaction again (see DB.Tx);
//   - say which transactions may have committed: COMMIT sent and the
//     connection lost before the answer (ErrCommitUnknown);
//   - mark every failure caused by a lost or unreachable database so that
//     errors.Is(err, ErrUnavailable) holds, wherever it surfaces.

// ErrUnavailable is in the chain of every error caused by a database that
// cannot be reached or that ended the connection (a restart, a failover):
// nothing is wrong with the request, and it may succeed if sent again
// shortly. The web platform answers it with 503 and Retry-After.
var ErrUnavailable = errors.New("sqldb: the database is unavailable")

// ErrCommitUnknown is in the chain of the error of a transaction whose
// connection was lost after COMMIT was sent: it may or may not have
// committed, so it is not run again. errors.Is(err, ErrUnavailable) holds
// too. A client retrying with its Idempotency-Key finds out which.
var ErrCommitUnknown = fmt.Errorf("%w: the connection was lost during COMMIT, which may or may not have taken effect", ErrUnavailable)

// lostError is a failure because the connection's session ended (or was
// found ended) before COMMIT was sent: PostgreSQL rolled back whatever
// transaction it had open, so the work can run again on a new connection.
type lostError struct {
	err error
	// bad also makes it driver.ErrBadConn: nothing was sent, or what was
	// sent (BEGIN) changes nothing, so database/sql may send it again on
	// another connection.
	bad bool
}

func (e *lostError) Error() string {
	return "sqldb: the connection to the database was lost: " + e.err.Error()
}

func (e *lostError) Unwrap() []error {
	if e.bad {
		return []error{ErrUnavailable, e.err, driver.ErrBadConn}
	}
	return []error{ErrUnavailable, e.err}
}

// commitUnknownError is a COMMIT sent on a connection that was lost before
// its answer came.
type commitUnknownError struct{ err error }

func (e *commitUnknownError) Error() string { return ErrCommitUnknown.Error() + ": " + e.err.Error() }

func (e *commitUnknownError) Unwrap() []error { return []error{ErrCommitUnknown, e.err} }

// connectError is a failure to open a connection to a database that does
// not answer, is starting or stopping, or has no connection to spare.
type connectError struct{ err error }

func (e *connectError) Error() string {
	return "sqldb: cannot connect to the database: " + e.err.Error()
}

func (e *connectError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// unreachable reports whether a failed connection attempt says the
// database is not there for now, rather than that the configuration is
// wrong (a password, a database name): only the former is ErrUnavailable,
// worth the client's retry.
func unreachable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08 connection exception, 53 insufficient resources (too many
		// connections), 57 operator intervention (shutting down, starting).
		c := pe.Code
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "53") || strings.HasPrefix(c, "57")
	}
	return true // no answer from the server: refused, reset, timed out
}

// pgConnector opens the connections of a PostgreSQL pool as pgConns.
type pgConnector struct {
	driver.Connector
	// scoped sets each transaction's tenant as it begins (row-level
	// security, see rowsecurity.go).
	scoped bool
	// pooled is set behind a pooler in transaction mode (see pooler.go):
	// every statement runs in a transaction that begins with settings.
	pooled   bool
	settings []setting
	// pipe counts the pool's pipelined statements (see pipeline.go).
	pipe *pipeStats
}

// openPool opens a pool on cfg whose connections are pgConns.
func openPool(cfg *pgx.ConnConfig, scoped bool, pipe *pipeStats, options ...stdlib.OptionOpenDB) *sql.DB {
	return sql.OpenDB(pgConnector{Connector: stdlib.GetConnector(*cfg, options...), scoped: scoped, pipe: pipe})
}

// openPooledPool opens a pool on cfg, which reaches a pooler in
// transaction mode, whose transactions begin with settings.
func openPooledPool(cfg *pgx.ConnConfig, scoped bool, pipe *pipeStats, settings []setting) *sql.DB {
	return sql.OpenDB(pgConnector{Connector: stdlib.GetConnector(*cfg), scoped: scoped, pooled: true, settings: settings, pipe: pipe})
}

// Connect opens a connection; a database that does not answer is
// ErrUnavailable.
func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		if ctx.Err() == nil && unreachable(err) {
			return nil, &connectError{err}
		}
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqldb: unexpected postgres driver connection %T", conn)
	}
	return &pgConn{Conn: sc, scoped: c.scoped, pooled: c.pooled, settings: c.settings, pipe: c.pipe}, nil
}

// pgConn is a pgx connection of a pool, checked for a dead session before
// each use and whose transactions begin, on a scoped pool, with their
// tenant set.
type pgConn struct {
	*stdlib.Conn
	scoped   bool
	pooled   bool
	settings []setting
	// queued are Execs of the open transaction not yet sent, counted in
	// pipe once sent (see pipeline.go).
	queued []queuedExec
	pipe   *pipeStats
	// shared is set while the connection runs a group commit batch (see
	// groupcommit_pg.go): statements are then sent without their
	// context's cancellation, as pgx closes the connection of a cancelled
	// statement, and with it every member's work. Only the batch's
	// goroutine uses the connection meanwhile.
	shared bool
}

// stmtCtx is the context a statement is sent under: ctx, without its
// cancellation while the connection is shared.
func (c *pgConn) stmtCtx(ctx context.Context) context.Context {
	if c.shared {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// closed reports whether pgx has closed the connection (after a fatal or
// network error).
func (c *pgConn) closed() bool { return c.Conn.Conn().IsClosed() }

// txStatus is the server's transaction status: 'I' idle, 'T' in a
// transaction, 'E' in a failed one.
func (c *pgConn) txStatus() byte { return c.Conn.Conn().PgConn().TxStatus() }

var (
	_ driver.SessionResetter    = (*pgConn)(nil)
	_ driver.Validator          = (*pgConn)(nil)
	_ driver.ConnBeginTx        = (*pgConn)(nil)
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.ConnPrepareContext = (*pgConn)(nil)
)

// alive reports whether the server has not ended the connection's
// session, as far as can be told without a round trip: the socket is
// looked at (peek) and, only when something has arrived unasked, pgx reads
// it (a FATAL error closes the connection; a notice is harmless).
func alive(conn *pgx.Conn) bool {
	if conn.IsClosed() {
		return false
	}
	switch peek(conn.PgConn().Conn()) {
	case sockClosed:
		return false
	case sockPending:
		return conn.PgConn().CheckConn() == nil && !conn.IsClosed()
	}
	return true
}

// errEnded is the cause of a lostError for a connection found dead
// before use.
var errEnded = errors.New("the database session ended")

// ResetSession runs as database/sql takes the connection from the pool:
// one the server has hung up on is discarded before any use. (Should every
// connection database/sql tries be dead, the request's error says that
// the database was lost, not just "bad connection".)
func (c *pgConn) ResetSession(ctx context.Context) error {
	c.discard()
	if !alive(c.Conn.Conn()) {
		return &lostError{err: errEnded, bad: true}
	}
	err := c.Conn.ResetSession(ctx) // pgx pings after a second idle
	if errors.Is(err, driver.ErrBadConn) && ctx.Err() == nil {
		return &lostError{err: errEnded, bad: true}
	}
	return err
}

// IsValid keeps a connection pgx has closed (after a fatal error) out of
// the pool.
func (c *pgConn) IsValid() bool { return !c.Conn.Conn().IsClosed() }

// lost marks err, from a statement on this connection, as a lost
// connection when it is one. A caller that gave up is told so, not that
// the database is unavailable.
func (c *pgConn) lost(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return err
	}
	if errors.Is(err, driver.ErrBadConn) {
		return &lostError{err: err, bad: true} // pgx: nothing was sent
	}
	if c.Conn.Conn().IsClosed() {
		return &lostError{err: err}
	}
	return err
}

// ExecContext runs a statement, or queues it (see pipeline.go); see lost.
func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ctx = c.stmtCtx(ctx)
	if r, ok := c.queue(ctx, query, args); ok {
		return r, nil
	}
	if len(c.queued) > 0 {
		return c.execQueued(ctx, query, args)
	}
	end, err := c.autocommit(ctx)
	if err != nil {
		return nil, err
	}
	r, err := c.Conn.ExecContext(ctx, query, args)
	if end != nil {
		err = end(ctx, err)
	}
	return r, c.lost(ctx, err)
}

// QueryContext runs a query; see lost.
func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	ctx = c.stmtCtx(ctx)
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	end, err := c.autocommit(ctx)
	if err != nil {
		return nil, err
	}
	r, err := c.Conn.QueryContext(ctx, query, args)
	if err != nil && end != nil {
		err = end(ctx, err)
	}
	rows, err := c.rows(ctx, r, err)
	if err == nil && end != nil {
		rows.(*pgRows).end = end
	}
	return rows, err
}

// rows wraps the rows of a query, or marks its error (see lost).
func (c *pgConn) rows(ctx context.Context, r driver.Rows, err error) (driver.Rows, error) {
	if err != nil {
		return nil, c.lost(ctx, err)
	}
	return &pgRows{Rows: r.(*stdlib.Rows), ctx: ctx, conn: c}, nil
}

// pgRows are the rows of a query on a pgConn, read as they arrive: the
// connection can be lost between two of them.
type pgRows struct {
	*stdlib.Rows
	ctx  context.Context
	conn *pgConn
	// end, when set, ends the transaction the query ran in (see
	// pgConn.autocommit).
	end func(ctx context.Context, err error) error
}

// Close closes the rows and ends their transaction, if they have one.
func (r *pgRows) Close() error {
	err := r.Rows.Close()
	if r.end != nil {
		end := r.end
		r.end = nil
		err = r.conn.lost(r.ctx, end(r.ctx, err))
	}
	return err
}

// Next reads the next row; see pgConn.lost.
func (r *pgRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err == io.EOF {
		return err // the end, not an error
	}
	return r.conn.lost(r.ctx, err)
}

// PrepareContext prepares a statement whose uses are checked as the
// connection's (see lost).
func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if c.pooled {
		return pooledStmt{conn: c, query: query}, nil // see pooler.go
	}
	st, err := c.Conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, c.lost(ctx, err)
	}
	return &pgStmt{Stmt: st.(*stdlib.Stmt), conn: c, query: query}, nil
}

// Prepare is PrepareContext without a context.
func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// pgStmt is a statement prepared on a pgConn.
type pgStmt struct {
	*stdlib.Stmt
	conn  *pgConn
	query string
}

// ExecContext runs the statement, or queues it (see pipeline.go); see
// pgConn.lost.
func (s *pgStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	ctx = s.conn.stmtCtx(ctx)
	if r, ok := s.conn.queue(ctx, s.query, args); ok {
		return r, nil
	}
	if len(s.conn.queued) > 0 {
		return s.conn.execQueued(ctx, s.query, args)
	}
	r, err := s.Stmt.ExecContext(ctx, args)
	return r, s.conn.lost(ctx, err)
}

// QueryContext runs the statement's query; see pgConn.lost.
func (s *pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	ctx = s.conn.stmtCtx(ctx)
	if err := s.conn.flush(ctx); err != nil {
		return nil, err
	}
	r, err := s.Stmt.QueryContext(ctx, args)
	return s.conn.rows(ctx, r, err)
}

// Begin is BeginTx with the default options.
func (c *pgConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx begins a transaction with the options database/sql passes and, on
// a scoped pool, sets mercato.tenant for it in the same round trip. A BEGIN
// that fails because the connection is dead is driver.ErrBadConn, so that
// database/sql begins on another connection.
func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	conn := c.Conn.Conn()
	if conn.IsClosed() {
		return nil, driver.ErrBadConn
	}
	q, err := beginQuery(ctx, opts, c.scoped, c.settings)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{BeginQuery: q})
	if err != nil {
		// pgx closes the connection after a fatal or network error.
		if ctx.Err() == nil && conn.IsClosed() {
			return nil, &lostError{err: fmt.Errorf("begin: %w", err), bad: true}
		}
		return nil, err
	}
	return pgxTx{ctx: ctx, tx: tx, conn: c}, nil
}

// beginQuery is the statement that begins a transaction with opts: on a
// scoped pool, "begin …; SELECT set_config(…)" in one simple query, so a
// transaction costs no extra round trip for its tenant (on a checkout, a
// dozen fewer); for a group commit batch, with its first savepoint too.
func beginQuery(ctx context.Context, opts driver.TxOptions, scoped bool, settings []setting) (string, error) {
	var b strings.Builder
	b.WriteString("begin")
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		b.WriteString(" isolation level read uncommitted")
	case sql.LevelReadCommitted:
		b.WriteString(" isolation level read committed")
	case sql.LevelRepeatableRead, sql.LevelSnapshot:
		b.WriteString(" isolation level repeatable read")
	case sql.LevelSerializable:
		b.WriteString(" isolation level serializable")
	default:
		return "", fmt.Errorf("sqldb: unsupported isolation level %v", sql.IsolationLevel(opts.Isolation))
	}
	if opts.ReadOnly {
		b.WriteString(" read only")
	}
	if scoped {
		// A literal, as simple queries take no parameters: tenantOf
		// yields "*", "" or an ID that tenancy.Valid accepted, none with a
		// quote; quoting stays correct should that ever change.
		settings = append(settings[:len(settings):len(settings)], setting{tenantSetting, tenantOf(ctx)})
	}
	batch := ctx.Value(openSavepointKey{}) != nil
	if batch {
		// A group commit batch waits for no lock for long: see
		// batchLockTimeout.
		settings = append(settings[:len(settings):len(settings)], setting{"lock_timeout", batchLockTimeout})
	}
	writeSettings(&b, settings)
	if batch {
		// Its first member's savepoint, after the settings, which must
		// outlive a rollback to it.
		b.WriteString("; " + pgSavepoint)
	}
	return b.String(), nil
}

// pgxTx ends a pgx transaction for database/sql, saying whether a failure
// lost the transaction (lostError: it never committed) or left its outcome
// unknown (commitUnknownError).
type pgxTx struct {
	ctx  context.Context
	tx   pgx.Tx
	conn *pgConn
}

// Commit sends COMMIT, unless the server has already ended the session.
func (t pgxTx) Commit() error {
	conn := t.tx.Conn()
	if !alive(conn) {
		// The session ended before COMMIT: PostgreSQL rolled the
		// transaction back. Nothing is sent on the dead connection.
		t.conn.discard()
		_ = conn.Close(t.ctx)
		return &lostError{err: fmt.Errorf("%w before COMMIT", errEnded)}
	}
	var err error
	if len(t.conn.queued) > 0 {
		// The queued statements and COMMIT go out together.
		err = t.conn.commitQueued(t.ctx)
	} else {
		err = t.tx.Commit(t.ctx)
	}
	switch {
	case err == nil:
		return nil
	case pgconn.SafeToRetry(err):
		return &lostError{err: err} // COMMIT was not sent
	case conn.IsClosed():
		// Sent, and the connection died (or was closed as the caller
		// gave up) before the answer.
		return &commitUnknownError{err}
	}
	return err // the server's answer: the transaction did not commit
}

// Rollback rolls back; when the session is gone it says so (lostError), so
// that Tx knows the transaction left nothing behind and may run again.
func (t pgxTx) Rollback() error {
	t.conn.discard() // never sent: nothing to undo
	err := t.tx.Rollback(t.ctx)
	if err != nil && t.tx.Conn().IsClosed() {
		return &lostError{err: err}
	}
	return err
}
