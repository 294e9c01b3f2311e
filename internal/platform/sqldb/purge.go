package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
)

// PurgeBatch is how many rows one transaction of DeleteBatches deletes at
// most: small enough that a purge never holds the SQLite writer for long,
// nor leaves PostgreSQL one huge transaction's dead rows for autovacuum.
const PurgeBatch = 1000

// DeleteBatches runs the DELETE statement q again and again, each time in a
// transaction of its own, until it deletes fewer than PurgeBatch rows, and
// returns how many rows it deleted in all. q must delete at most one batch:
// rows chosen by their key from a subquery ending in LIMIT $n, where $n, the
// last placeholder, receives PurgeBatch (args are the ones before it):
//
//	DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at < $1 ORDER BY published_at LIMIT $2)
//
// On SQLite, the pages the deletes freed are then given back to the file
// system (Reclaim). ctx is checked between batches.
func (db *DB) DeleteBatches(ctx context.Context, q string, args ...any) (int64, error) {
	args = append(args[:len(args):len(args)], PurgeBatch)
	var total int64
	for {
		var n int64
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < PurgeBatch || ctx.Err() != nil {
			break
		}
	}
	if total > 0 {
		if err := db.Reclaim(ctx); err != nil {
			return total, err
		}
	}
	return total, ctx.Err()
}

// reclaimStep is how many free pages one incremental_vacuum statement
// gives back: the writer is free for others between two steps.
const reclaimStep = 2048

// Reclaim gives the free pages of a SQLite database back to the file
// system (PRAGMA incremental_vacuum, a step at a time); the file shrinks
// by what purges freed. It does nothing on PostgreSQL, whose autovacuum
// makes the space reusable in place.
func (db *DB) Reclaim(ctx context.Context) error {
	if db.dialect != SQLite {
		return nil
	}
	last := int64(-1)
	for ctx.Err() == nil {
		var free int64
		if err := db.w.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
			return fmt.Errorf("sqldb: count free pages of %s: %w", db.name, err)
		}
		// A database not in incremental mode frees nothing: stop rather
		// than spin.
		if free == 0 || free == last {
			return nil
		}
		last = free
		if err := vacuumStep(ctx, db.w); err != nil {
			return fmt.Errorf("sqldb: give back free pages of %s: %w", db.name, err)
		}
	}
	return ctx.Err()
}

// vacuumStep runs one incremental_vacuum statement to its end: SQLite
// gives back one page per step of the statement, so it is read as a query
// to the last row, not executed (which may stop at the first step).
func vacuumStep(ctx context.Context, w *sql.DB) error {
	rows, err := w.QueryContext(ctx, fmt.Sprintf(`PRAGMA incremental_vacuum(%d)`, reclaimStep))
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}

// incrementalVacuum makes the SQLite database of writer w give freed pages
// back when asked (auto_vacuum=INCREMENTAL, see Reclaim). The mode only
// takes effect with a VACUUM once the file has a header: a database made
// before Mercato set it is rewritten once, at its first open since; that
// takes about as long as copying the file, and as much free disk space.
func incrementalVacuum(ctx context.Context, w *sql.DB, path string, log *slog.Logger) error {
	var mode int
	if err := w.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return fmt.Errorf("sqldb: read auto_vacuum of %s: %w", path, err)
	}
	if mode == 2 {
		return nil
	}
	if _, err := w.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return fmt.Errorf("sqldb: set auto_vacuum of %s: %w", path, err)
	}
	var tables int
	if err := w.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master`).Scan(&tables); err != nil {
		return fmt.Errorf("sqldb: read schema of %s: %w", path, err)
	}
	// Even a new file needs the VACUUM: journal_mode=WAL has already
	// written its header. On a file without tables it costs nothing.
	if tables > 0 {
		log.Info("rewriting the database once to give freed space back (incremental auto-vacuum)", "path", path)
	}
	if _, err := w.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("sqldb: vacuum %s: %w", path, err)
	}
	return nil
}
