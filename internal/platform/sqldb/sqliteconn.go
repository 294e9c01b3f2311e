package sqldb

import (
	"container/list"
	"context"
	"database/sql/driver"

	"modernc.org/sqlite"
)

// stmtCacheSize bounds the statements one SQLite connection keeps: more
// than the distinct statements a service executes without preparing them,
// so in steady state none is parsed twice.
const stmtCacheSize = 128

// sqliteConnector opens the SQLite connections of a pool, which keep the
// statements they execute by text (an ExecContext with a query string, like
// outbox.Add's insert): SQLite parses and plans a statement on every
// prepare, and on the single writer connection that parse is serial work
// paid by every transaction. pgx does the same for PostgreSQL with its
// statement cache.
//
// Only executions are cached. A query's rows may still be open when the
// same text is queried again on the connection, and a cached statement can
// serve one at a time; an execution runs to its end before it returns.
//
// The writer's connections (detach) also run every statement without its
// context's cancellation: SQLite answers an interrupted write by rolling
// back the whole transaction, and the writer's transaction is shared by a
// batch of callers (group commit), so one caller giving up mid-statement
// would undo the others' work. Cancellation still counts between
// statements: database/sql checks the context before each one, and the
// caller's function fails there, rolled back alone to its savepoint.
type sqliteConnector struct {
	driver.Connector
	detach bool
}

func newSQLiteConnector(dsn string, detach bool) (driver.Connector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sqliteConnector{Connector: c, detach: detach}, nil
}

func (c sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &cachingConn{conn: conn, stmts: map[string]*list.Element{}, detach: c.detach}, nil
}

// sqliteConn is what the SQLite driver's connections implement and
// database/sql uses.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is a SQLite connection with a cache of executed statements
// (and, detached, statements that outlive their context's cancellation).
// database/sql uses a connection from one goroutine at a time, so the
// cache needs no lock.
type cachingConn struct {
	conn   driver.Conn
	stmts  map[string]*list.Element // of *cachedStmt, in lru
	lru    list.List                // most recently used first
	detach bool
}

// cachedStmt is one statement of a connection's cache.
type cachedStmt struct {
	query string
	st    driver.Stmt
}

func (c *cachingConn) base() sqliteConn { return c.conn.(sqliteConn) }

// ctx is the context a statement runs under: ctx, or on a detached
// connection ctx without its cancellation.
func (c *cachingConn) ctx(ctx context.Context) context.Context {
	if c.detach {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// ExecContext executes query with a statement prepared on the first
// execution of its text and kept for the next. (A script of several
// statements is kept too; the driver parses it again on each execution, as
// it would without the cache.)
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ctx = c.ctx(ctx)
	st, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.(driver.StmtExecContext).ExecContext(ctx, args)
}

// cached returns the connection's statement for query, preparing it if it
// has none. Past stmtCacheSize the least recently used statement is
// finalized: one-off statements (migrations, say) age out and leave the
// cache to the ones a service runs all the time. No execution is in
// progress when this runs (one goroutine at a time, and executions run to
// their end), so the evicted statement is free.
func (c *cachingConn) cached(ctx context.Context, query string) (driver.Stmt, error) {
	if el, ok := c.stmts[query]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*cachedStmt).st, nil
	}
	st, err := c.base().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = c.lru.PushFront(&cachedStmt{query: query, st: st})
	if c.lru.Len() > stmtCacheSize {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.stmts, old.query)
		_ = old.st.Close()
	}
	return st, nil
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.base().BeginTx(context.Background(), driver.TxOptions{})
}
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.base().BeginTx(c.ctx(ctx), opts)
}

// PrepareContext prepares query on the connection. A prepared statement
// runs under the context database/sql gives each execution, so on a
// detached connection it is wrapped to drop that cancellation too.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.base().PrepareContext(ctx, query)
	if err != nil || !c.detach {
		return st, err
	}
	return detachedStmt{st.(sqliteStmt)}, nil
}
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.base().QueryContext(c.ctx(ctx), query, args)
}
func (c *cachingConn) Ping(ctx context.Context) error         { return c.base().Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.base().ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.base().IsValid() }

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	for el := c.lru.Front(); el != nil; el = el.Next() {
		_ = el.Value.(*cachedStmt).st.Close()
	}
	c.stmts, c.lru = map[string]*list.Element{}, list.List{}
	return c.conn.Close()
}

// sqliteStmt is what the SQLite driver's statements implement and
// database/sql uses.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// detachedStmt is a statement prepared on a detached connection: it runs
// without its context's cancellation.
type detachedStmt struct{ sqliteStmt }

func (s detachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.sqliteStmt.ExecContext(context.WithoutCancel(ctx), args)
}

func (s detachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.sqliteStmt.QueryContext(context.WithoutCancel(ctx), args)
}
