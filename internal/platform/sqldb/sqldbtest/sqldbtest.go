// Package sqldbtest runs one store test body on every SQL engine: SQLite
// always, and PostgreSQL when MERCATO_TEST_POSTGRES holds a server URL. Each
// run gets a database of its own (a temporary SQLite file, or a fresh
// PostgreSQL schema dropped afterwards), migrated with the given sets. On
// PostgreSQL row-level security is on, as in production: a test reads
// tenant rows through transactions scoped to a tenant (or AllTenants).
package sqldbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mercato/mercato/internal/platform/sqldb"
)

// PostgresEnv names the variable holding the PostgreSQL test server URL.
const PostgresEnv = "MERCATO_TEST_POSTGRES"

// Run calls body once per engine, as the subtests "sqlite" and "postgres".
func Run(t *testing.T, body func(t *testing.T, db *sqldb.DB), sets ...sqldb.Migrations) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		body(t, Open(t, "", sets...))
	})
	t.Run("postgres", func(t *testing.T) {
		url := os.Getenv(PostgresEnv)
		if url == "" {
			t.Skip(PostgresEnv + " is not set")
		}
		body(t, Open(t, url, sets...))
	})
}

// Open returns a fresh migrated database: SQLite when url is empty, else a
// new schema on the PostgreSQL server at url. It is closed (and the schema
// dropped) when the test ends.
func Open(t testing.TB, url string, sets ...sqldb.Migrations) *sqldb.DB {
	t.Helper()
	return OpenWith(t, sqldb.Options{URL: url, RowSecurity: true}, sets...)
}

// OpenWith is Open with the options o (URL included); its Name and Dir
// are the test's own.
func OpenWith(t testing.TB, o sqldb.Options, sets ...sqldb.Migrations) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	o.Name, o.Dir = "t_"+hex.EncodeToString(b[:]), t.TempDir()
	db, err := sqldb.Open(ctx, o)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		if o.URL != "" {
			dropSchema(t, o.URL, o.Name)
		}
	})
	if err := db.Migrate(ctx, sets...); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}

func dropSchema(t testing.TB, url, name string) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Errorf("drop test schema: %v", err)
		return
	}
	var db *sql.DB = stdlib.OpenDB(*cfg)
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
		t.Errorf("drop test schema %s: %v", name, err)
	}
}
