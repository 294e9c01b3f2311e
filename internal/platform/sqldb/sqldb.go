// Package sqldb opens a service's database on SQLite (laptop) or PostgreSQL
// (production), applies its embedded migrations, and runs transactions with
// retry. Services write portable SQL; the few engine differences live behind
// the small Dialect seam here and nowhere else.
//
// On SQLite a DB holds two pools: one writer connection (transactions start
// with BEGIN IMMEDIATE, so writers queue instead of failing on upgrade) and a
// read-only pool for queries outside transactions. On PostgreSQL both are the
// same pool, and each service lives in its own schema of the given database.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names a SQL engine.
type Dialect string

// The engines Mercato runs on.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options says where a service's database is.
type Options struct {
	// URL is a PostgreSQL URL (postgres://…). Empty means SQLite.
	URL string
	// Dir holds the SQLite files, one per service: Dir/Name.db.
	Dir string
	// Name is the service name: the SQLite file name or the PostgreSQL schema.
	Name string
	// ReadConns bounds the SQLite read pool; zero means 4.
	ReadConns int
	// MaxConns bounds the PostgreSQL pool that serves the service; zero
	// means 10. With RowSecurity, migrations run on a pool of their own of
	// AdminConns connections, closed once Migrate is done (see Migrate).
	// Pools close connections idle for IdleTimeout.
	MaxConns int
	// GroupCommitLanes bounds how many group commit batches of write
	// transactions (Tx, WriteTx) run at once on PostgreSQL, each on a
	// connection of the pool (see groupcommit.go). Zero means MaxConns
	// (the whole pool; see pgCommitter); a negative value turns group commit off on
	// PostgreSQL: every transaction is its own, as before decision 0039.
	// SQLite always has one lane (one writer).
	GroupCommitLanes int
	// RowSecurity makes PostgreSQL enforce tenant isolation itself (see
	// rowsecurity.go). Ignored on SQLite.
	RowSecurity bool
	// Log receives migration progress; nil discards it.
	Log *slog.Logger
	// Committed, if set, is called after every write transaction that
	// committed (Tx, WriteTx), with the tenant it ran for: the context's
	// tenant, "*" for one under AllTenants, "" for neither. It must be
	// quick: it runs on the writer's path.
	Committed func(tenant string)
}

// DB is one service's database.
type DB struct {
	name    string
	dialect Dialect
	w       *sql.DB
	r       *sql.DB
	log     *slog.Logger
	// commit batches write transactions (see groupcommit.go); nil on
	// PostgreSQL with group commit off.
	commit *committer
	// admin is the configured user's pool, for migrations and policies;
	// w and r act as AppRole when that user is a superuser (PostgreSQL
	// with RowSecurity only; else admin is w).
	admin       *sql.DB
	rowSecurity bool
	asAppRole   bool
	// pooled: the URL reaches a pooler in transaction mode (pooler.go).
	pooled    bool
	committed func(tenant string)
	// pipe counts pipelined statements on PostgreSQL (pipeline.go).
	pipe *pipeStats
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open opens (creating if needed) the database of opts.Name.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if !schemaName.MatchString(opts.Name) {
		return nil, fmt.Errorf("sqldb: invalid database name %q", opts.Name)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		db  *DB
		err error
	)
	switch {
	case opts.URL == "":
		db, err = openSQLite(ctx, opts, log)
	case IsPostgresURL(opts.URL):
		db, err = openPostgres(ctx, opts, log)
	default:
		return nil, fmt.Errorf("sqldb: unsupported database URL scheme in %q (want postgres://)", Redact(opts.URL))
	}
	if err != nil {
		return nil, err
	}
	db.committed = opts.Committed
	return db, nil
}

// IsPostgresURL reports whether u names a PostgreSQL database.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// Redact hides the password of a database or broker URL, for logs.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	return p.Redacted()
}

func openSQLite(ctx context.Context, opts Options, log *slog.Logger) (*DB, error) {
	if opts.Dir == "" {
		return nil, errors.New("sqldb: a data directory is needed for SQLite")
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqldb: create data directory: %w", err)
	}
	path := filepath.Join(opts.Dir, opts.Name+".db")
	// busy_timeout covers other processes (mercato migrate beside a server);
	// within one process the single writer connection serialises writers.
	// temp_store(MEMORY) keeps statement journals in memory: group commit
	// runs each transaction of a batch in a savepoint, and with the default
	// every savepoint's journal pages were written to a temporary file.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)"
	wc, err := newSQLiteConnector("file:"+path+"?"+pragmas+"&_txlock=immediate", true)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open %s: %w", path, err)
	}
	w := sql.OpenDB(wc)
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqldb: open %s: %w", path, err)
	}
	if err := incrementalVacuum(ctx, w, path, log); err != nil {
		w.Close()
		return nil, err
	}
	rc, err := newSQLiteConnector("file:"+path+"?"+pragmas+"&_pragma=query_only(1)", false)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqldb: open %s for reading: %w", path, err)
	}
	r := sql.OpenDB(rc)
	n := opts.ReadConns
	if n <= 0 {
		n = 4
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	commit, err := newCommitter(ctx, w)
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	return &DB{name: opts.Name, dialect: SQLite, w: w, r: r, log: log, commit: commit}, nil
}

func openPostgres(ctx context.Context, opts Options, log *slog.Logger) (*DB, error) {
	cfg, pooled, err := parseConfig(opts.URL)
	if err != nil {
		return nil, err
	}
	// Create the service's schema once with a plain connection, then pin every
	// pooled connection to it so unqualified table names resolve there.
	boot := stdlib.OpenDB(*cfg)
	// Quoted: service names may be SQL keywords ("order").
	_, err = boot.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS "`+opts.Name+`"`)
	boot.Close()
	if err != nil {
		var pe *pgconn.PgError
		// Two processes creating the same schema at once race on the catalog.
		if !errors.As(err, &pe) || pe.Code != "23505" {
			return nil, fmt.Errorf("sqldb: create schema %s: %w", opts.Name, err)
		}
	}
	searchPath := setting{"search_path", `"` + opts.Name + `"`}
	if !pooled {
		cfg.RuntimeParams[searchPath.name] = searchPath.value
	}
	n := opts.MaxConns
	if n <= 0 {
		n = 10
	}
	limit := func(db *sql.DB, n int) *sql.DB {
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(IdleTimeout)
		return db
	}
	// open opens a pool of n connections with these settings: for the
	// session, or behind a pooler for each transaction (see pooler.go).
	// Every pool's connections are checked for a session the server ended
	// (a restart) before each use: see pgdriver.go. The pools that serve
	// tenants under row-level security (scoped) set each transaction's
	// tenant as it begins.
	pipe := &pipeStats{}
	open := func(n int, scoped bool, settings ...setting) *sql.DB {
		if pooled {
			return limit(openPooledPool(cfg, scoped, pipe, append([]setting{searchPath}, settings...)), n)
		}
		c := cfg.Copy()
		var options []stdlib.OptionOpenDB
		for _, s := range settings {
			if s.name == "role" {
				options = append(options, stdlib.OptionAfterConnect(func(ctx context.Context, c *pgx.Conn) error {
					_, err := c.Exec(ctx, `SET ROLE `+s.value)
					return err
				}))
				continue
			}
			c.RuntimeParams[s.name] = s.value
		}
		return limit(openPool(c, scoped, pipe, options...), n)
	}
	if !opts.RowSecurity {
		db := open(n, false)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqldb: connect to postgres: %w", err)
		}
		d := &DB{name: opts.Name, dialect: Postgres, w: db, r: db, admin: db, log: log, pooled: pooled, pipe: pipe}
		d.commit = pgCommitter(db, opts, n, false)
		return d, nil
	}
	// Migrations and policies run on a pool of their own that sees every
	// tenant (an owner is held to FORCEd policies too, and a data
	// migration must reach every row). Migrations run one at a time: two
	// connections (the migration tool holds one for its lock), given back
	// to the server when Migrate is done (AdminConns).
	admin := open(AdminConns, false, setting{tenantSetting, "*"})
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return nil, fmt.Errorf("sqldb: connect to postgres: %w", err)
	}
	super, err := isSuperuser(ctx, admin)
	if err != nil {
		admin.Close()
		return nil, fmt.Errorf("sqldb: read the user's powers: %w", err)
	}
	d := &DB{name: opts.Name, dialect: Postgres, admin: admin, log: log, rowSecurity: true, pooled: pooled, pipe: pipe}
	var as []setting
	if super {
		// A superuser passes through every policy: act as a role that
		// does not.
		if err := prepareAppRole(ctx, admin, opts.Name); err != nil {
			admin.Close()
			return nil, err
		}
		as = append(as, setting{"role", AppRole})
		d.asAppRole = true
	}
	app := open(n, true, as...)
	if err := app.PingContext(ctx); err != nil {
		app.Close()
		admin.Close()
		if super {
			return nil, fmt.Errorf("sqldb: connect to postgres as %s: %w", AppRole, err)
		}
		return nil, fmt.Errorf("sqldb: connect to postgres: %w", err)
	}
	d.w, d.r = app, app
	d.commit = pgCommitter(app, opts, n, true)
	admin.SetMaxIdleConns(0) // until Migrate
	return d, nil
}

// pgCommitter is the group committer of the PostgreSQL pool w of n
// connections, or nil when opts turn group commit off.
func pgCommitter(w *sql.DB, opts Options, n int, scoped bool) *committer {
	lanes := opts.GroupCommitLanes
	switch {
	case lanes < 0:
		return nil
	case lanes == 0:
		// The whole pool (decision 0039): a batch forms only when every
		// connection is busy, so group commit never holds more
		// connections than transactions alone would. Half the pool
		// batched more and was faster on rows spread out, but slower on
		// hot ones (stock of a few SKUs), as members of different lanes
		// then wait for each other's commits.
		lanes = n
	}
	return newPgCommitter(w, lanes, scoped)
}

// IdleTimeout is how long a pooled PostgreSQL connection may stay idle
// before it is closed: a process holds connections while it is busy and
// gives them back to the server soon after.
const IdleTimeout = 30 * time.Second

// AdminConns bounds the pool that runs migrations under RowSecurity,
// open only while Migrate runs.
const AdminConns = 2

// PoolStats are the connections a database holds.
type PoolStats struct {
	// InUse and Idle count the connections open, in all its pools.
	InUse, Idle int
	// Max bounds the pools serving the service: on PostgreSQL its pool
	// (Options.MaxConns), on SQLite the writing and the reading pools.
	Max int
}

// PoolStats reports the connections db holds.
func (db *DB) PoolStats() PoolStats {
	s := db.w.Stats()
	ps := PoolStats{InUse: s.InUse, Idle: s.Idle, Max: s.MaxOpenConnections}
	if db.dialect != Postgres && db.r != nil && db.r != db.w {
		// SQLite: the one writing connection and the reading ones.
		r := db.r.Stats()
		ps.InUse += r.InUse
		ps.Idle += r.Idle
		ps.Max += r.MaxOpenConnections
	}
	if db.admin != nil && db.admin != db.w {
		a := db.admin.Stats()
		ps.InUse += a.InUse
		ps.Idle += a.Idle
	}
	return ps
}

// Name is the service name the database belongs to.
func (db *DB) Name() string { return db.name }

// Dialect tells which engine this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Read is the pool for queries outside a transaction. On SQLite it is
// read-only: writes must go through Tx.
func (db *DB) Read() *sql.DB { return db.r }

// Write is the pool for writes outside Tx (rare: prefer Tx), and where the
// statements of write transactions are prepared: a statement prepared on
// Write and bound to a transaction of Tx with tx.StmtContext (sqlc's
// Queries.WithTx) is parsed once per connection, not once per use; on
// SQLite the writer has a single connection.
func (db *DB) Write() *sql.DB { return db.w }

// Ping checks the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error { return db.w.PingContext(ctx) }

// Close closes both pools.
func (db *DB) Close() error {
	if db.commit != nil {
		db.commit.close()
	}
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	if db.admin != nil && db.admin != db.w {
		err = errors.Join(err, db.admin.Close())
	}
	return err
}

// Migrations is one embedded set of goose migrations and the table that
// records which have run. Platform packages and services each keep their own
// set and table, so their version numbers never collide.
type Migrations struct {
	FS    fs.FS
	Table string
}

// Embedded returns the migrations in directory dir of an embedded file
// system, tracked in table. dir is a constant of the caller's, so a bad one
// is a programmer error caught at start-up.
func Embedded(f fs.FS, dir, table string) Migrations {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(fmt.Sprintf("sqldb: embedded migrations %q: %v", dir, err))
	}
	return Migrations{FS: sub, Table: table}
}

// Migrate applies every set in order.
//
// With row-level security on PostgreSQL, migrations run on a pool of their
// own (AdminConns); its connections are closed when Migrate returns, so
// that a serving process holds only the service's pool.
func (db *DB) Migrate(ctx context.Context, sets ...Migrations) error {
	if db.admin != nil && db.admin != db.w {
		db.admin.SetMaxIdleConns(AdminConns)
		defer db.admin.SetMaxIdleConns(0) // closes the idle connection
	}
	for _, m := range sets {
		if err := db.migrate(ctx, m); err != nil {
			return err
		}
	}
	return db.enforceRowSecurity(ctx)
}

func (db *DB) migrate(ctx context.Context, m Migrations) error {
	d := database.DialectSQLite3
	if db.dialect == Postgres {
		d = database.DialectPostgres
	}
	store, err := database.NewStore(d, m.Table)
	if err != nil {
		return fmt.Errorf("sqldb: migrations store: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithStore(store), goose.WithDisableGlobalRegistry(true)}
	switch {
	case db.pooled:
		// Replicas starting together take turns on a row of goose_lock:
		// a session's advisory lock does not survive a pooler.
		locker, err := lock.NewPostgresTableLocker()
		if err != nil {
			return fmt.Errorf("sqldb: migration lock: %w", err)
		}
		opts = append(opts, goose.WithLocker(locker))
	case db.dialect == Postgres:
		// Replicas starting together take turns on an advisory lock.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("sqldb: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	owner := db.w
	if db.admin != nil {
		owner = db.admin // tables belong to the configured user
	}
	p, err := goose.NewProvider("", owner, m.FS, opts...)
	if err != nil {
		return fmt.Errorf("sqldb: load migrations %s: %w", m.Table, err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("sqldb: migrate %s (%s): %w", db.name, m.Table, err)
	}
	for _, r := range res {
		db.log.Info("migration applied", "migration", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// Tx runs fn in a transaction and commits it. fn may run more than once:
// the whole function runs again, after a jittered backoff,
//
//   - when the engine reports a transient conflict (SQLite busy or locked,
//     PostgreSQL serialization failure or deadlock, a lock waited for too
//     long inside a shared transaction), or the shared transaction fn ran
//     in could not commit, up to 8 attempts;
//   - when the connection to PostgreSQL was lost before COMMIT was sent (a
//     database restart, a failover): the server rolled the transaction
//     back, and it runs again on a new connection, up to 3 attempts.
//
// fn must therefore do only database work, through tx, and set afresh on
// each run whatever it hands back (assign, never append to a caller's
// slice); messages go through the outbox, calls to other services outside.
//
// When the connection is lost after COMMIT was sent, the transaction may
// or may not have committed: Tx does not run it again, and its error is
// ErrCommitUnknown. Every error caused by an unreachable or lost database
// is ErrUnavailable (errors.Is), which the web platform answers with 503.
//
// Transactions that wait for a writer at the same time share one commit
// (group commit, see groupcommit.go; on PostgreSQL unless
// Options.GroupCommitLanes turns it off): fn may run inside a savepoint of
// a larger transaction, and Tx returns once that has committed. fn must
// not call Tx on the same database (it would wait for itself). While fn
// shares a transaction, its statements are not interrupted when ctx is
// cancelled (that would end the others' work too): database/sql refuses
// the statements fn sends after ctx ended, and fn fails. A caller that
// gave up while still queued is skipped: its fn never runs.
//
// A transaction that must not share (it does more than database work
// before it commits) runs under Alone.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := retry(ctx, func() error { return db.tx(ctx, fn) })
	if err == nil && db.committed != nil {
		db.committed(tenantOf(ctx))
	}
	return err
}

// The bounds on running a transaction again (see Tx).
const (
	conflictAttempts = 8
	lostAttempts     = 3
)

// retry calls attempt until it succeeds, fails for good, or has failed
// for a transient reason as often as Tx allows.
func retry(ctx context.Context, attempt func() error) error {
	delay := 5 * time.Millisecond
	conflicts, losses := 0, 0
	for {
		err := attempt()
		switch {
		case err == nil:
			return nil
		case Retryable(err):
			if conflicts++; conflicts == conflictAttempts {
				return err
			}
		case isLost(err) && ctx.Err() == nil:
			if losses++; losses == lostAttempts {
				return err
			}
		default:
			return err
		}
		wait := delay/2 + rand.N(delay)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

// isLost reports whether err says a connection was lost with nothing
// committed, so that the work may run again.
func isLost(err error) bool {
	var le *lostError
	return errors.As(err, &le)
}

// WriteTx is Tx for a function that takes the context its statements are
// to run under. With group commit (SQLite always, PostgreSQL unless turned
// off), that context keeps ctx's values but not its cancellation, so the
// function runs to its end even if its caller gives up meanwhile. (The
// connection of a shared transaction already sends each statement without
// cancellation, so that no interrupted statement rolls back, or on
// PostgreSQL closes, the whole shared transaction; with Tx, database/sql
// fails the caller's next statement instead.) A caller that gave up while
// still queued is skipped as with Tx. With group commit off it is ctx.
func (db *DB) WriteTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	sctx := ctx
	if db.commit != nil {
		sctx = context.WithoutCancel(ctx)
	}
	return db.Tx(ctx, func(tx *sql.Tx) error { return fn(sctx, tx) })
}

func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.commit != nil && (db.dialect == SQLite || !alone(ctx)) {
		return db.commit.do(ctx, fn)
	}
	return runTx(ctx, db.w, nil, fn)
}

type aloneKey struct{}

// Alone returns a context under which Tx and WriteTx on PostgreSQL run
// their transaction by itself, on a connection of the pool: never in a
// group commit batch, nor in one of its lanes. It is for the rare
// transaction that does more than database work before it commits (the
// outbox relay publishes the rows it claimed, then stamps them): in a
// batch it would hold every member's locks and answer for as long, take a
// lane from the writers meanwhile, and could act on the writes of earlier
// members, which the batch may yet fail to commit. On SQLite, whose one
// writer runs every transaction in turn, it changes nothing: work of that
// kind is done outside the transaction there.
func Alone(ctx context.Context) context.Context {
	return context.WithValue(ctx, aloneKey{}, true)
}

func alone(ctx context.Context) bool {
	a, _ := ctx.Value(aloneKey{}).(bool)
	return a
}

// runTx runs fn in one transaction of pool p and commits it. On
// PostgreSQL, a failure that lost the connection before COMMIT is a
// lostError, whatever fn made of the error it saw.
func runTx(ctx context.Context, p *sql.DB, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := p.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("sqldb: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); isLost(rerr) && !isLost(err) {
			// The session ended under fn (the rollback found it gone),
			// and the transaction with it.
			return &lostError{err: err}
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqldb: commit: %w", err)
	}
	return nil
}

// Retryable reports whether err is a transient conflict worth retrying.
func Retryable(err error) bool {
	if errors.Is(err, errBatchAborted) || errors.Is(err, errLockWait) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// IsUniqueViolation reports whether err is a unique or primary key violation.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsCheckViolation reports whether err is a CHECK constraint violation.
func IsCheckViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23514"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_CHECK
	}
	return false
}
