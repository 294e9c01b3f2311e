package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// openGroupTest opens an empty database with a table of items: SQLite when
// url is empty, else a fresh schema of the PostgreSQL server at url (row
// security off, one lane: batches form as on SQLite), dropped afterwards.
func openGroupTest(t *testing.T, url string) *DB {
	t.Helper()
	db := openTestDB(t, Options{URL: url, GroupCommitLanes: 1})
	if _, err := db.Write().ExecContext(t.Context(), `CREATE TABLE items (id BIGINT PRIMARY KEY, n BIGINT NOT NULL CHECK (n >= 0))`); err != nil {
		t.Fatal(err)
	}
	return db
}

// groupEngines runs body on a database of openGroupTest on each engine:
// SQLite, and PostgreSQL when MERCATO_TEST_POSTGRES is set.
func groupEngines(t *testing.T, body func(t *testing.T, db *DB)) {
	t.Run("sqlite", func(t *testing.T) { body(t, openGroupTest(t, "")) })
	t.Run("postgres", func(t *testing.T) { body(t, openGroupTest(t, pgTestURL(t))) })
}

// signal tells whoever waits on ch, once, without blocking (a fn may run
// more than once).
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// queued waits until n transactions wait behind the one being run.
func queued(t *testing.T, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		db.commit.mu.Lock()
		got := len(db.commit.queue)
		db.commit.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// holdLane starts a transaction that leads, and keeps its lane until the
// returned release is called: transactions started meanwhile queue and
// then run as one batch. wait returns its error.
func holdLane(t *testing.T, db *DB, ctx context.Context) (release func(), wait func() error) {
	t.Helper()
	hold := make(chan struct{})
	leads := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- db.Tx(ctx, func(tx *sql.Tx) error {
			signal(leads)
			<-hold
			return nil
		})
	}()
	<-leads
	var once sync.Once
	return func() { once.Do(func() { close(hold) }) }, func() error { return <-done }
}

// inOneBatch runs member(0) … member(n-1), each on its own goroutine and
// queued in that order behind a transaction that holds the lane (its
// context ctx), then lets them run as one batch and returns their errors.
func inOneBatch(t *testing.T, db *DB, ctx context.Context, n int, member func(i int) error) []error {
	t.Helper()
	release, wait := holdLane(t, db, ctx)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = member(i) })
		queued(t, db, i+1)
	}
	release()
	wg.Wait()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	return errs
}

func count(t *testing.T, db *DB) (n int) {
	t.Helper()
	if err := db.Read().QueryRowContext(t.Context(), `SELECT count(*) FROM items`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGroupCommit queues transactions behind a slow one, so they share a
// commit, and checks each caller gets its own outcome: failures (one of a
// pipelined statement), a panic and a context cancelled while queued
// change nothing; the rest commit.
func TestGroupCommit(t *testing.T) {
	groupEngines(t, func(t *testing.T, db *DB) {
		release, first := holdLane(t, db, t.Context()) // the rest queue behind it

		const n = 20
		errs := make([]error, n)
		cancelled, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ctx := t.Context()
				if i == 7 {
					ctx = cancelled
				}
				errs[i] = db.Tx(ctx, func(tx *sql.Tx) error {
					switch i {
					case 3:
						panic("a bug in one caller")
					case 5:
						// A CHECK violation after a write: the savepoint undoes both.
						if _, err := tx.Exec(`INSERT INTO items (id, n) VALUES (1005, 1)`); err != nil {
							return err
						}
						_, err := tx.Exec(`INSERT INTO items (id, n) VALUES (1006, -1)`)
						return err
					case 9:
						return errors.New("changed my mind")
					case 11:
						// Pipelined statements (PostgreSQL sends them after
						// fn returns): the failure is this member's alone.
						if _, err := tx.ExecContext(Pipelined(ctx), `INSERT INTO items (id, n) VALUES (1011, 1)`); err != nil {
							return err
						}
						_, err := tx.ExecContext(Pipelined(ctx), `INSERT INTO items (id, n) VALUES (1012, -1)`)
						return err
					case 13:
						_, err := tx.ExecContext(Pipelined(ctx), `INSERT INTO items (id, n) VALUES ($1, 1)`, i+1)
						return err
					}
					_, err := tx.Exec(`INSERT INTO items (id, n) VALUES ($1, 1)`, i+1)
					return err
				})
			})
		}
		queued(t, db, n)
		cancel()
		release()
		wg.Wait()
		if err := first(); err != nil {
			t.Fatal(err)
		}
		for i, err := range errs {
			wantErr := i == 3 || i == 5 || i == 7 || i == 9 || i == 11
			if (err != nil) != wantErr {
				t.Errorf("transaction %d: err %v, want error %v", i, err, wantErr)
			}
		}
		if !IsCheckViolation(errs[5]) || !errors.Is(errs[7], context.Canceled) || !IsCheckViolation(errs[11]) {
			t.Errorf("errors lost their cause: %v, %v, %v", errs[5], errs[7], errs[11])
		}
		if got, want := count(t, db), n-5; got != want {
			t.Errorf("%d rows, want %d", got, want)
		}
		var stray int
		_ = db.Read().QueryRowContext(t.Context(), `SELECT count(*) FROM items WHERE id >= 1000`).Scan(&stray)
		if stray != 0 {
			t.Error("a failed transaction's first write was kept")
		}
	})
}

// TestGroupCommitRetriesWhenTheSharedTransactionIsLost makes one fn end the
// whole SQLite transaction (as an interrupted write does): the fns that had
// succeeded before it in the batch must not be told they committed; Tx runs
// them again and they commit once.
func TestGroupCommitRetriesWhenTheSharedTransactionIsLost(t *testing.T) {
	groupEngines(t, func(t *testing.T, db *DB) {
		release := make(chan struct{})
		first := make(chan error, 1)
		leads := make(chan struct{}, 1)
		go func() {
			first <- db.Tx(t.Context(), func(tx *sql.Tx) error {
				signal(leads)
				<-release
				return nil
			})
		}()
		<-leads // the first one leads: the rest queue behind it
		var (
			wg    sync.WaitGroup
			runs  sync.Map
			mu    sync.Mutex
			order []int
		)
		errs := make([]error, 4)
		for i := range 4 {
			wg.Go(func() {
				errs[i] = db.Tx(t.Context(), func(tx *sql.Tx) error {
					v, _ := runs.LoadOrStore(i, new(int))
					*v.(*int)++
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
					if i == 2 && *v.(*int) == 1 {
						// Ends the transaction behind database/sql's back.
						if _, err := tx.Exec(`ROLLBACK`); err != nil {
							return err
						}
						return errors.New("lost the transaction")
					}
					_, err := tx.Exec(`INSERT INTO items (id, n) VALUES ($1, 1)`, i)
					return err
				})
			})
			queued(t, db, i+1) // queue in order 0, 1, 2, 3
		}
		close(release)
		wg.Wait()
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		for i, err := range errs {
			if (err != nil) != (i == 2) {
				t.Errorf("transaction %d: %v", i, err)
			}
		}
		if got := count(t, db); got != 3 {
			t.Errorf("%d rows, want 3 (0, 1 and 3, each once): runs in order %v", got, order)
		}
		// 0 and 1 ran before the loss, in the same batch: they ran again.
		if v, _ := runs.Load(0); *v.(*int) != 2 {
			t.Errorf("transaction 0 ran %d times, want 2 (runs in order %v): was the batch shared?", *v.(*int), order)
		}
	})
}

func TestGroupCommitAfterClose(t *testing.T) {
	groupEngines(t, func(t *testing.T, db *DB) {
		db.Close()
		err := db.Tx(t.Context(), func(*sql.Tx) error { return nil })
		if err == nil {
			t.Fatal("a transaction ran on a closed database")
		}
	})
}

func BenchmarkConcurrentTx(b *testing.B) {
	for _, workers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			db, err := Open(b.Context(), Options{Dir: b.TempDir(), Name: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Write().ExecContext(b.Context(), `CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, n BIGINT NOT NULL)`); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(workers)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := db.Tx(b.Context(), func(tx *sql.Tx) error {
						_, err := tx.Exec(`INSERT INTO items (n) VALUES (1)`)
						return err
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// TestWriteTxOutlivesItsCaller: on SQLite a write transaction's statements
// run without the caller's cancellation, so a caller giving up while its
// function runs neither fails nor interrupts the shared transaction.
func TestWriteTxOutlivesItsCaller(t *testing.T) {
	groupEngines(t, func(t *testing.T, db *DB) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		err := db.WriteTx(ctx, func(sctx context.Context, tx *sql.Tx) error {
			cancel() // the caller gives up mid-transaction
			if sctx.Done() != nil {
				t.Error("the statements' context can still be cancelled")
			}
			_, err := tx.ExecContext(sctx, `INSERT INTO items (id, n) VALUES (1, 1)`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, db); n != 1 {
			t.Errorf("%d rows, want 1", n)
		}
	})
}

// TestGroupCommitFailureHeardAfterCommit: a transaction that fails on a
// unique key an earlier transaction of its batch inserted hears of its
// failure only once that row is committed, so a caller that then looks
// the winner up (a retried checkout with the same key) finds it. A third
// transaction of the batch holds the commit back until the loser has
// looked (or for a second), which is when the loser used to be told.
func TestGroupCommitFailureHeardAfterCommit(t *testing.T) {
	groupEngines(t, func(t *testing.T, db *DB) {
		release, first := holdLane(t, db, t.Context()) // the rest queue behind it

		insert := func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO items (id, n) VALUES (5, 1)`)
			return err
		}
		winner := make(chan error, 1)
		go func() { winner <- db.Tx(t.Context(), insert) }()
		queued(t, db, 1)
		looked := make(chan struct{})
		var loserErr error
		var seen int
		loserDone := make(chan struct{})
		go func() {
			defer close(loserDone)
			loserErr = db.Tx(t.Context(), insert)
			seen = -1
			_ = db.Read().QueryRowContext(t.Context(), `SELECT count(*) FROM items WHERE id = 5`).Scan(&seen)
			close(looked)
		}()
		queued(t, db, 2)
		third := make(chan error, 1)
		go func() {
			third <- db.Tx(t.Context(), func(tx *sql.Tx) error {
				select {
				case <-looked:
				case <-time.After(time.Second):
				}
				_, err := tx.Exec(`INSERT INTO items (id, n) VALUES (6, 1)`)
				return err
			})
		}()
		queued(t, db, 3)
		release()

		if err := first(); err != nil {
			t.Fatal(err)
		}
		for _, ch := range []chan error{winner, third} {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		<-loserDone
		if !IsUniqueViolation(loserErr) {
			t.Fatalf("loser: %v, want a unique violation", loserErr)
		}
		if seen != 1 {
			t.Errorf("the loser, told of its conflict, found %d rows with the winner's key: it was told before the winner committed", seen)
		}
	})
}
