package session

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations creates the web_sessions table. The database that keeps
// sessions (the identity service's) applies it beside its own set.
var Migrations = sqldb.Embedded(migrations, "migrations", "session_db_version")

// DBStore keeps sessions in a table of a service database. It implements
// scs.CtxStore; sessions belong to the tenant of the context. It is safe for
// concurrent use.
type DBStore struct {
	db  *sqldb.DB
	now func() time.Time
}

// NewDBStore keeps sessions in db, which must have Migrations applied.
func NewDBStore(db *sqldb.DB) *DBStore {
	return &DBStore{db: db, now: time.Now}
}

// FindCtx returns the session of token, if it exists and has not expired.
func (s *DBStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, false, err
	}
	r, err := s.find(ctx, tenant, token)
	if err != nil {
		return nil, false, err
	}
	return r.data, r.state == rowLive, nil
}

// CommitCtx adds or replaces the session of token.
func (s *DBStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	if b == nil {
		// NULL is the tombstone marker; scs never commits nil, but a caller might.
		b = []byte{}
	}
	return s.put(ctx, tenant, token, b, expiry, false)
}

// DeleteCtx removes the session of token; a missing one is no error.
func (s *DBStore) DeleteCtx(ctx context.Context, token string) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	return s.delete(ctx, tenant, token)
}

// Find is FindCtx without a context. It always fails: sessions are per
// tenant, and only a context carries one (scs uses FindCtx).
func (s *DBStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a context; it always fails (see Find).
func (s *DBStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a context; it always fails (see Find).
func (s *DBStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// Cleanup deletes expired sessions (and tombstones) of every tenant and
// returns how many went. The owner calls it periodically (see Run).
func (s *DBStore) Cleanup(ctx context.Context) (int64, error) {
	ctx = sqldb.AllTenants(ctx)
	// A bounded batch per transaction: a purge never holds the writer long.
	n, err := s.db.DeleteBatches(ctx, `DELETE FROM web_sessions WHERE (tenant_id, token) IN (
		SELECT tenant_id, token FROM web_sessions WHERE expiry <= $1 ORDER BY expiry LIMIT $2)`, s.now().UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("purge expired sessions: %w", err)
	}
	return n, nil
}

// Run calls Cleanup every interval until ctx is done, logging failures.
func (s *DBStore) Run(ctx context.Context, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		s.cleanup(ctx, log)
	}
}

func (s *DBStore) cleanup(ctx context.Context, log *slog.Logger) {
	n, err := s.Cleanup(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		log.Warn("purge expired sessions", "err", err)
	case n > 0:
		log.Debug("purged expired sessions", "count", n)
	}
}

// rowState tells what the table holds for a token.
type rowState int

const (
	rowMissing   rowState = iota // no row, or an expired one
	rowLive                      // a session
	rowTombstone                 // deleted while Redis was failing
)

// row is one session row as the failover needs it.
type row struct {
	tenant, token string
	data          []byte // nil for a tombstone
	expiry        time.Time
	rev           int64
	dirty         bool
	state         rowState
}

func (s *DBStore) find(ctx context.Context, tenant, token string) (row, error) {
	r := row{tenant: tenant, token: token}
	var expiry, dirty int64
	ctx = tenancy.WithID(ctx, tenant)
	err := s.db.ReadTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx,
			`SELECT data, expiry, rev, dirty FROM web_sessions WHERE tenant_id = $1 AND token = $2 AND expiry > $3`,
			tenant, token, s.now().UnixMicro()).Scan(&r.data, &expiry, &r.rev, &dirty)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return r, nil
	case err != nil:
		return r, fmt.Errorf("read session: %w", err)
	}
	r.expiry = time.UnixMicro(expiry)
	r.dirty = dirty == 1
	r.state = rowLive
	if r.data == nil {
		r.state = rowTombstone
	}
	return r, nil
}

// put writes the session, or a tombstone when b is nil, marked dirty or
// not. An expiry already past deletes instead, as Redis would.
func (s *DBStore) put(ctx context.Context, tenant, token string, b []byte, expiry time.Time, dirty bool) error {
	ctx = tenancy.WithID(ctx, tenant)
	if !expiry.After(s.now()) {
		return s.delete(ctx, tenant, token)
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO web_sessions (tenant_id, token, data, expiry, rev, dirty) VALUES ($1, $2, $3, $4, $5, $6)
			 ON CONFLICT (tenant_id, token) DO UPDATE
			 SET data = excluded.data, expiry = excluded.expiry, rev = excluded.rev, dirty = excluded.dirty`,
			tenant, token, b, expiry.UnixMicro(), rand.Int64(), flag(dirty))
		return err
	})
	if err != nil {
		return fmt.Errorf("write session: %w", err)
	}
	return nil
}

func (s *DBStore) delete(ctx context.Context, tenant, token string) error {
	ctx = tenancy.WithID(ctx, tenant)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE tenant_id = $1 AND token = $2`, tenant, token)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// settle marks a dirty row clean once Redis has its data (a tombstone row
// is deleted), only if it still has the revision that was moved, and
// reports whether it did: a row rewritten meanwhile stays for the next pass.
func (s *DBStore) settle(ctx context.Context, r row) (bool, error) {
	ctx = tenancy.WithID(ctx, r.tenant)
	q := `UPDATE web_sessions SET dirty = 0 WHERE tenant_id = $1 AND token = $2 AND rev = $3`
	if r.state == rowTombstone {
		q = `DELETE FROM web_sessions WHERE tenant_id = $1 AND token = $2 AND rev = $3`
	}
	var n int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, r.tenant, r.token, r.rev)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("settle moved session: %w", err)
	}
	return n == 1, nil
}

// dirtyPage returns up to limit unexpired dirty rows of every tenant after
// the key (tenant, token), in key order.
func (s *DBStore) dirtyPage(ctx context.Context, tenant, token string, limit int) ([]row, error) {
	var out []row
	ctx = sqldb.AllTenants(ctx)
	err := s.db.ReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.scanDirty(ctx, tx, tenant, token, limit)
		return err
	})
	return out, err
}

func (s *DBStore) scanDirty(ctx context.Context, tx *sql.Tx, tenant, token string, limit int) ([]row, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT tenant_id, token, data, expiry, rev FROM web_sessions
		 WHERE dirty = 1 AND expiry > $1 AND (tenant_id, token) > ($2, $3)
		 ORDER BY tenant_id, token LIMIT $4`,
		s.now().UnixMicro(), tenant, token, limit)
	if err != nil {
		return nil, fmt.Errorf("list dirty sessions: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		r := row{dirty: true}
		var expiry int64
		if err := rows.Scan(&r.tenant, &r.token, &r.data, &expiry, &r.rev); err != nil {
			return nil, fmt.Errorf("list dirty sessions: %w", err)
		}
		r.expiry = time.UnixMicro(expiry)
		r.state = rowLive
		if r.data == nil {
			r.state = rowTombstone
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dirty sessions: %w", err)
	}
	return out, nil
}

func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
