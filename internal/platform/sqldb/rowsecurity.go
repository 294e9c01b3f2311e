package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Row-level security on PostgreSQL.
//
// Services scope every query by tenant in code. With Options.RowSecurity,
// PostgreSQL enforces it a second time: every table of the service's
// schema with a tenant_id column gets a policy that shows and accepts only
// the rows of the tenant set for the transaction (the setting
// mercato.tenant, set as each transaction begins from its context's
// tenant: see pgConn.BeginTx). A query with no tenant set sees nothing;
// work across tenants (sweepers, the outbox relay) says so with AllTenants.
//
// PostgreSQL lets superusers and roles with BYPASSRLS through any policy.
// When the configured user is a superuser (a laptop, CI), the pool's
// connections therefore switch to AppRole, a role without those powers,
// which owns nothing but may use the schema; migrations still run as the
// configured user. When the user is an ordinary role owning the tables
// (production), FORCE ROW LEVEL SECURITY applies the policies to it too.

// AppRole is the role a superuser's connections act as under RowSecurity.
const AppRole = "mercato_app"

// tenantSetting is the PostgreSQL setting the policies read.
const tenantSetting = "mercato.tenant"

type allTenantsKey struct{}

// AllTenants returns a context under which transactions see every tenant's
// rows: for work that spans tenants by design (sweepers, relays, recovery).
func AllTenants(ctx context.Context) context.Context {
	return context.WithValue(ctx, allTenantsKey{}, true)
}

// tenantOf is the value of mercato.tenant for a transaction on ctx: the
// context's tenant, "*" under AllTenants, or "" (no rows) without either.
func tenantOf(ctx context.Context) string {
	if all, _ := ctx.Value(allTenantsKey{}).(bool); all {
		return "*"
	}
	t, err := tenancy.ID(ctx)
	if err != nil || !tenancy.Valid(t) {
		return ""
	}
	return t
}

// ReadTx runs fn in a read-only transaction on the read pool, which sees
// one snapshot (repeatable read on PostgreSQL) and, with row-level
// security, only the context's tenant. Reads of tenant rows go through it.
//
// As with Tx, fn may run more than once (a lost connection, whenever it
// happens: a read-only transaction leaves nothing to commit), so it sets
// afresh on each run whatever it hands back.
func (db *DB) ReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return retry(ctx, func() error {
		err := runTx(ctx, db.r, opts, fn)
		if cu := (*commitUnknownError)(nil); errors.As(err, &cu) {
			return &lostError{err: cu.err} // it wrote nothing
		}
		return err
	})
}

// RowSecurity reports whether PostgreSQL enforces tenant policies here.
func (db *DB) RowSecurity() bool { return db.rowSecurity }

// isSuperuser reports whether the connection's user bypasses policies.
func isSuperuser(ctx context.Context, q *sql.DB) (bool, error) {
	var super bool
	err := q.QueryRowContext(ctx, `SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&super)
	return super, err
}

// prepareAppRole makes AppRole exist and lets it use schema. Processes
// starting together on a new database take turns on an advisory lock for
// the GRANTs: concurrent GRANTs on one role or schema fail with "tuple
// concurrently updated" (XX000), and every process grants the shared
// "web" schema.
func prepareAppRole(ctx context.Context, q *sql.DB, schema string) error {
	// Roles belong to the server, not the database, so another database's
	// processes may create it at once: the lock would not cover them.
	_, err := q.ExecContext(ctx, `CREATE ROLE `+AppRole+` NOLOGIN NOSUPERUSER NOBYPASSRLS`)
	var pe *pgconn.PgError
	// 42710 duplicate_object; 23505 when two processes create it at once.
	if err != nil && (!errors.As(err, &pe) || (pe.Code != "42710" && pe.Code != "23505")) {
		return fmt.Errorf("sqldb: create role %s: %w", AppRole, err)
	}
	tx, err := q.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqldb: grant role %s: %w", AppRole, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('mercato app role grants'))`); err != nil {
		return fmt.Errorf("sqldb: lock to grant role %s: %w", AppRole, err)
	}
	for _, stmt := range []string{
		`GRANT ` + AppRole + ` TO current_user`,
		`GRANT USAGE ON SCHEMA "` + schema + `" TO ` + AppRole,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqldb: %s: %w", stmt, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqldb: grant role %s: %w", AppRole, err)
	}
	return nil
}

// enforceRowSecurity puts the tenant policy on every table of the schema
// with a tenant_id column, and, for a superuser, grants the app role what
// it needs on every table. It runs after each Migrate, so new tables are
// covered; it is idempotent.
func (db *DB) enforceRowSecurity(ctx context.Context) error {
	if !db.rowSecurity {
		return nil
	}
	rows, err := db.admin.QueryContext(ctx, `
		SELECT c.table_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
		ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("sqldb: list tenant tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	policy := `tenant_id = current_setting('` + tenantSetting + `', true) OR current_setting('` + tenantSetting + `', true) = '*'`
	// Tables already under the policy are left alone: ALTER TABLE and
	// CREATE POLICY lock the table, and replicas start together. (A
	// changed policy gets a new name, so it is not mistaken for this one.)
	done := map[string]bool{}
	rows, err = db.admin.QueryContext(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relrowsecurity AND c.relforcerowsecurity
		AND EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname
		            AND p.policyname = 'tenant_isolation')`)
	if err != nil {
		return fmt.Errorf("sqldb: read row security: %w", err)
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		done[t] = true
	}
	rows.Close()
	for _, t := range tables {
		if done[t] {
			continue
		}
		q := `"` + strings.ReplaceAll(t, `"`, ``) + `"`
		stmts := []string{
			`ALTER TABLE ` + q + ` ENABLE ROW LEVEL SECURITY`,
			`ALTER TABLE ` + q + ` FORCE ROW LEVEL SECURITY`,
			`DROP POLICY IF EXISTS tenant_isolation ON ` + q,
			`CREATE POLICY tenant_isolation ON ` + q + ` USING (` + policy + `) WITH CHECK (` + policy + `)`,
		}
		if err := inTx(ctx, db.admin, stmts); err != nil {
			return fmt.Errorf("sqldb: row security on %s: %w", t, err)
		}
	}
	if db.asAppRole {
		schema := `"` + db.name + `"`
		if err := inTx(ctx, db.admin, []string{
			`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ` + schema + ` TO ` + AppRole,
			`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ` + schema + ` TO ` + AppRole,
		}); err != nil {
			return fmt.Errorf("sqldb: grant %s: %w", AppRole, err)
		}
	}
	return nil
}

// inTx runs stmts in one transaction, so a policy is never dropped without
// its replacement being there.
func inTx(ctx context.Context, q *sql.DB, stmts []string) error {
	tx, err := q.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	// Replicas starting together take turns (concurrent GRANTs and
	// policy changes on one table fail otherwise).
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('mercato row security ' || current_schema()))`); err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return tx.Commit()
}
