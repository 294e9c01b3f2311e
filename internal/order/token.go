package order

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/platform/sqldb"
)

// A guest's order token is HMAC-SHA256(secret, tenant, order ID): it can be
// given again on every replay of the checkout (from this table after a
// crash, on another replica) without storing the token itself. Only its
// SHA-256 is stored with the order, and checked on reads; the secret never
// leaves the order database.

// tokens makes guests' order tokens.
type tokens struct{ secret []byte }

// loadTokens reads the deployment's token secret, making it on first use.
// Two processes starting at once both insert; one wins and both read it.
func loadTokens(ctx context.Context, db *sqldb.DB, now time.Time) (tokens, error) {
	var raw [32]byte
	_, _ = rand.Read(raw[:]) // never fails since Go 1.24
	var s string
	// The secret belongs to no tenant (the table has no tenant_id); it is
	// read back in the transaction that made sure it exists.
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO token_secret (id, secret, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING`,
			hex.EncodeToString(raw[:]), now.UnixMicro())
		if err != nil {
			return fmt.Errorf("create token secret: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT secret FROM token_secret WHERE id = 1`).Scan(&s); err != nil {
			return fmt.Errorf("read token secret: %w", err)
		}
		return nil
	})
	if err != nil {
		return tokens{}, fmt.Errorf("order: %w", err)
	}
	secret, err := hex.DecodeString(s)
	if err != nil || len(secret) < 32 {
		return tokens{}, fmt.Errorf("order: token secret is malformed")
	}
	return tokens{secret: secret}, nil
}

// token returns the guest token of an order and the hash stored with it.
func (t tokens) token(tenant, orderID string) (token, hash string) {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(tenant))
	m.Write([]byte{0})
	m.Write([]byte(orderID))
	token = base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	return token, hashToken(token)
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
