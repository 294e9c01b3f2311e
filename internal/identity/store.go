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

// addEvent writes one event to the outbox in tx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, at time.Time, data any) error {
	return outbox.AddEvent(ctx, tx, identityapi.Source, subject, at, data)
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

// noRows turns sql.ErrNoRows into notFound and wraps other errors.
func noRows(err error, notFound error, doing string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound
	}
	return fmt.Errorf("%s: %w", doing, err)
}

func toCustomer(c identitydb.Customer) identityapi.Customer {
	out := identityapi.Customer{ID: c.ID, Email: c.Email, Name: c.Name, Phone: c.Phone,
		CreatedAt: sqldb.FromMicros(c.CreatedAt), UpdatedAt: sqldb.FromMicros(c.UpdatedAt)}
	if c.EmailVerifiedAt.Valid {
		at := sqldb.FromMicros(c.EmailVerifiedAt.Int64)
		out.EmailVerified, out.EmailVerifiedAt = true, &at
	}
	return out
}

func toStaff(m identitydb.Staff) identityapi.Staff {
	return identityapi.Staff{ID: m.ID, Email: m.Email, Name: m.Name, Role: m.Role, Status: m.Status,
		CreatedAt: sqldb.FromMicros(m.CreatedAt), UpdatedAt: sqldb.FromMicros(m.UpdatedAt)}
}

func toAddress(a identitydb.Address) identityapi.Address {
	return identityapi.Address{ID: a.ID, Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, Region: a.Region,
		PostalCode: a.PostalCode, Country: a.Country, Phone: a.Phone, IsDefault: a.IsDefault == 1,
		CreatedAt: sqldb.FromMicros(a.CreatedAt), UpdatedAt: sqldb.FromMicros(a.UpdatedAt)}
}
