package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/identity/identitydb"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

// The SQL lives in queries/*.sql and is compiled by sqlc into identitydb
// (`go tool sqlc generate -f internal/identity/sqlc.yaml`). The queries use
// sqlc.arg() so they also parse with sqlc's sqlite engine (`vet` checks both).

// store reads and writes the identity tables. Reads go to the read pool
// (prepared once) in read transactions scoped to the context's tenant (on
// PostgreSQL with row-level security nothing else sees the tenant's rows);
// writes happen inside tx, with the events they announce.
type store struct {
	db   *sqldb.DB
	read *identitydb.Queries
}

// newStore prepares every query on the read pool, which also checks at
// start-up that the database has been migrated.
func newStore(ctx context.Context, db *sqldb.DB) (*store, error) {
	read, err := identitydb.Prepare(ctx, db.Read())
	if err != nil {
		return nil, fmt.Errorf("identity: prepare queries (is the database migrated?): %w", err)
	}
	return &store{db: db, read: read}, nil
}

// tx runs fn in one write transaction (retried by sqldb on transient
// conflicts), with the generated queries bound to it.
func (s *store) tx(ctx context.Context, fn func(tx *sql.Tx, q *identitydb.Queries) error) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		return fn(tx, identitydb.New(tx))
	})
}

// readOne runs one prepared read query in a read transaction of the
// context's tenant. Its error comes back as the query returned it
// (sql.ErrNoRows included).
func readOne[P, T any](ctx context.Context, s *store, query func(*identitydb.Queries, context.Context, P) (T, error), p P) (T, error) {
	var out T
	err := s.db.ReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = query(s.read.WithTx(tx), ctx, p)
		return err
	})
	return out, err
}

// addEvent writes one event to the outbox in tx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, at time.Time, data any) error {
	e, err := outbox.NewEvent(ctx, identityapi.Source, subject, at, data)
	if err != nil {
		return err
	}
	return outbox.Add(ctx, tx, e)
}

// newSecret returns a random 32-byte token, base64url: what a client holds.
// Only its hash (tokenHash) is stored, so a database leak does not leak
// usable tokens.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenHash is the stored form of a secret token: SHA-256, base64url. A
// fast hash is enough: the token has 256 random bits, nothing to guess.
func tokenHash(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func nullMicros(t time.Time) sql.NullInt64 { return sql.NullInt64{Int64: t.UnixMicro(), Valid: true} }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// keys returns every published signing key, newest first. The keys are
// the deployment's, no tenant's.
func (s *store) keys(ctx context.Context) ([]identitydb.SigningKey, error) {
	var rows []identitydb.SigningKey
	err := s.db.ReadTx(sqldb.AllTenants(ctx), func(tx *sql.Tx) error {
		var err error
		rows, err = s.read.WithTx(tx).ListSigningKeys(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	return rows, nil
}

// insertKey adds key as the active signing key. With rotate, the active
// key is retired first; without, nothing happens when a key is already
// active (the first start of a deployment, maybe of several replicas at
// once: the unique active column lets exactly one win).
func (s *store) insertKey(ctx context.Context, key identitydb.SigningKey, rotate bool) error {
	const attempts = 3
	var err error
	for range attempts {
		err = s.tx(ctx, func(_ *sql.Tx, q *identitydb.Queries) error {
			if rotate {
				if _, err := q.RetireActiveKey(ctx, sql.NullInt64{Int64: key.CreatedAt, Valid: true}); err != nil {
					return err
				}
			} else {
				rows, err := q.ListSigningKeys(ctx)
				if err != nil {
					return err
				}
				for _, r := range rows {
					if r.Active.Valid {
						return nil
					}
				}
			}
			return q.InsertSigningKey(ctx, identitydb.InsertSigningKeyParams{
				Kid: key.Kid, PrivateKey: key.PrivateKey, PublicKey: key.PublicKey, CreatedAt: key.CreatedAt})
		})
		if err == nil {
			return nil
		}
		if !sqldb.IsUniqueViolation(err) {
			return fmt.Errorf("store signing key: %w", err)
		}
		if !rotate {
			return nil // another replica created the first key
		}
		// A concurrent rotation committed first: retire its key in turn.
	}
	return fmt.Errorf("store signing key: %w: %w", ErrConflict, err)
}

// pruneKeys deletes signing keys retired before before.
func (s *store) pruneKeys(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.tx(sqldb.AllTenants(ctx), func(_ *sql.Tx, q *identitydb.Queries) error {
		var err error
		n, err = q.PruneSigningKeys(ctx, nullMicros(before))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune signing keys: %w", err)
	}
	return n, nil
}

// prune deletes refresh and reset tokens of every tenant that expired
// before now.
func (s *store) prune(ctx context.Context, now time.Time) error {
	err := s.tx(sqldb.AllTenants(ctx), func(_ *sql.Tx, q *identitydb.Queries) error {
		if _, err := q.PruneRefreshTokens(ctx, micros(now)); err != nil {
			return err
		}
		_, err := q.PrunePasswordResets(ctx, micros(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("prune expired tokens: %w", err)
	}
	return nil
}

// noRows turns sql.ErrNoRows into notFound and wraps other errors.
func noRows(err error, notFound error, doing string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound
	}
	return fmt.Errorf("%s: %w", doing, err)
}

func toCustomer(c identitydb.Customer) identityapi.Customer {
	return identityapi.Customer{ID: c.ID, Email: c.Email, Name: c.Name, Phone: c.Phone,
		CreatedAt: fromMicros(c.CreatedAt), UpdatedAt: fromMicros(c.UpdatedAt)}
}

func toStaff(m identitydb.Staff) identityapi.Staff {
	return identityapi.Staff{ID: m.ID, Email: m.Email, Name: m.Name, Role: m.Role, Status: m.Status,
		CreatedAt: fromMicros(m.CreatedAt), UpdatedAt: fromMicros(m.UpdatedAt)}
}

func toAddress(a identitydb.Address) identityapi.Address {
	return identityapi.Address{ID: a.ID, Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, Region: a.Region,
		PostalCode: a.PostalCode, Country: a.Country, Phone: a.Phone, IsDefault: a.IsDefault == 1,
		CreatedAt: fromMicros(a.CreatedAt), UpdatedAt: fromMicros(a.UpdatedAt)}
}
