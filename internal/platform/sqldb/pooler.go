package sqldb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL behind a pooler in transaction mode (PgBouncer's
// pool_mode=transaction).
//
// Such a pooler lends a server connection to a client for one transaction
// (a statement outside one is a transaction of its own), so nothing may
// outlive a transaction on the server: no session setting, no named
// prepared statement (PgBouncer tracks them only from 1.21), no session
// advisory lock. The URL says so with pool_mode=transaction (a parameter
// of Mercato's, not sent to the server); then:
//
//   - the search path, the app role (SET ROLE, for a superuser under row
//     security) and the migrations' tenant, which are otherwise set once per
//     session, are set with set_config(…, true) at the start of every
//     transaction, in the same round trip as BEGIN (beginQuery);
//   - a statement outside a transaction runs in one of its own, begun the
//     same way (autocommit): two more round trips;
//   - pgx describes statements and caches the description, but sends them
//     unnamed (QueryExecModeCacheDescribe), and database/sql's prepared
//     statements are sent as plain statements (pooledStmt);
//   - goose takes its migration lock in a table, not with a session
//     advisory lock.
//
// The transaction-scoped tenant (set_config('mercato.tenant', …, true)) and
// pg_advisory_xact_lock need no change.

// poolModeParam is the URL parameter that says the URL reaches a pooler.
const poolModeParam = "pool_mode"

// splitPoolMode removes pool_mode from a postgres:// URL and reports
// whether it says transaction. session (or no parameter) needs nothing.
func splitPoolMode(u string) (string, bool, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", false, fmt.Errorf("sqldb: parse postgres URL: %w", err)
	}
	q := p.Query()
	if !q.Has(poolModeParam) {
		return u, false, nil
	}
	mode := q.Get(poolModeParam)
	q.Del(poolModeParam)
	p.RawQuery = q.Encode()
	switch mode {
	case "transaction":
		return p.String(), true, nil
	case "session":
		return p.String(), false, nil
	}
	return "", false, fmt.Errorf("sqldb: %s=%q in the postgres URL: want transaction or session", poolModeParam, mode)
}

// BehindPooler reports whether a PostgreSQL URL says it reaches a pooler in
// transaction mode (pool_mode=transaction).
func BehindPooler(u string) bool {
	_, pooled, err := splitPoolMode(u)
	return err == nil && pooled
}

// parseConfig parses a PostgreSQL URL, pool_mode taken out.
func parseConfig(u string) (*pgx.ConnConfig, bool, error) {
	u, pooled, err := splitPoolMode(u)
	if err != nil {
		return nil, false, err
	}
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, false, fmt.Errorf("sqldb: parse postgres URL: %w", err)
	}
	if pooled {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	}
	return cfg, pooled, nil
}

// setting is a server setting a transaction begins with.
type setting struct{ name, value string }

// writeSettings appends to a BEGIN the statement that sets settings for
// the transaction: "; SELECT set_config(…, true), …". Values are
// literals, quoted (simple queries take no parameters).
func writeSettings(b *strings.Builder, settings []setting) {
	for i, s := range settings {
		if i == 0 {
			b.WriteString("; SELECT ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString("set_config('" + strings.ReplaceAll(s.name, "'", "''") + "', '")
		b.WriteString(strings.ReplaceAll(s.value, "'", "''"))
		b.WriteString("', true)")
	}
}

// autocommit begins, behind a pooler, a transaction for a statement sent
// outside one, with the pool's settings (not the tenant: as without a
// pooler, a statement outside a transaction has none). It returns the
// function that ends it (commit, or rollback after err), or nil when
// there is nothing to do.
func (c *pgConn) autocommit(ctx context.Context) (func(ctx context.Context, err error) error, error) {
	conn := c.Conn.Conn()
	if !c.pooled || conn.PgConn().TxStatus() != 'I' {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString("begin")
	writeSettings(&b, c.settings)
	if _, err := conn.Exec(ctx, b.String()); err != nil {
		if ctx.Err() == nil && conn.IsClosed() {
			return nil, &lostError{err: fmt.Errorf("begin: %w", err), bad: true}
		}
		return nil, err
	}
	return func(ctx context.Context, err error) error {
		end := "commit"
		if err != nil {
			end = "rollback"
		}
		// The statement's own context may be done; the transaction must
		// end all the same, or the connection is closed.
		if _, eerr := conn.Exec(context.WithoutCancel(ctx), end); eerr != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
			if err == nil {
				err = fmt.Errorf("%s: %w", end, eerr)
			}
		}
		return err
	}, nil
}

// pooledStmt is a statement database/sql prepared behind a pooler: it is
// sent afresh on each use, as the pooler may lend each use another server
// connection, where a prepared statement would not exist.
type pooledStmt struct {
	conn  *pgConn
	query string
}

var (
	_ driver.StmtExecContext  = pooledStmt{}
	_ driver.StmtQueryContext = pooledStmt{}
)

func (s pooledStmt) Close() error  { return nil }
func (s pooledStmt) NumInput() int { return -1 }

func (s pooledStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s pooledStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s pooledStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.conn.ExecContext(ctx, s.query, args)
}

func (s pooledStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.conn.QueryContext(ctx, s.query, args)
}

func named(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}
