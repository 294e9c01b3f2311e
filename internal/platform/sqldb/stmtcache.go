package sqldb

import (
	"context"
	"database/sql/driver"

	"modernc.org/sqlite"
)

// stmtCacheSize bounds the statements one SQLite connection keeps: more
// than the distinct statements a service executes without preparing them,
// so in steady state none is parsed twice.
const stmtCacheSize = 128

// stmtCacheConnector opens SQLite connections that keep the statements they
// execute by text (an ExecContext with a query string, like outbox.Add's
// insert): SQLite parses and plans a statement on every prepare, and on the
// single writer connection that parse is serial work paid by every
// transaction. pgx does the same for PostgreSQL with its statement cache.
//
// Only executions are cached. A query's rows may still be open when the
// same text is queried again on the connection, and a cached statement can
// serve one at a time; an execution runs to its end before it returns.
type stmtCacheConnector struct {
	driver.Connector
}

func newSQLiteConnector(dsn string) (driver.Connector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return stmtCacheConnector{c}, nil
}

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &cachingConn{conn: conn, stmts: map[string]driver.Stmt{}}, nil
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

// cachingConn is a SQLite connection with a cache of executed statements.
// database/sql uses a connection from one goroutine at a time, so the cache
// needs no lock.
type cachingConn struct {
	conn  driver.Conn
	stmts map[string]driver.Stmt
}

func (c *cachingConn) base() sqliteConn { return c.conn.(sqliteConn) }

// ExecContext executes query with a statement prepared on the first
// execution of its text and kept for the next. (A script of several
// statements is kept too; the driver parses it again on each execution, as
// it would without the cache.) Once the cache is full, new texts are
// executed without it.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, ok := c.stmts[query]
	if !ok {
		if len(c.stmts) >= stmtCacheSize {
			return c.base().ExecContext(ctx, query, args)
		}
		var err error
		if st, err = c.base().PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		c.stmts[query] = st
	}
	return st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.base().BeginTx(context.Background(), driver.TxOptions{})
}
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.base().BeginTx(ctx, opts)
}
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.base().PrepareContext(ctx, query)
}
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.base().QueryContext(ctx, query, args)
}
func (c *cachingConn) Ping(ctx context.Context) error         { return c.base().Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.base().ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.base().IsValid() }

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	for q, st := range c.stmts {
		_ = st.Close()
		delete(c.stmts, q)
	}
	return c.conn.Close()
}
