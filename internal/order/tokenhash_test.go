package order

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
)

// TestEventsCarryTokenHash: order.confirmed.v1 carries the SHA-256 of the
// guest's order token (never the token), so a projection of orders (the
// review service's) can check a guest's token without calling the order
// service.
func TestEventsCarryTokenHash(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(t, db, Config{})
		ctx := ctxFor(t, "default")
		o := placed(t, w, ctx, "hash-1")
		var raw string
		readAll(t, db, func(tx *sql.Tx) error {
			return tx.QueryRowContext(t.Context(), `SELECT envelope FROM outbox WHERE subject = $1`, orderapi.SubjectConfirmed).Scan(&raw)
		})
		var e outbox.Envelope
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			t.Fatal(err)
		}
		var got orderapi.OrderEvent
		if err := json.Unmarshal(e.Data, &got); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(o.Token))
		if got.ID != o.ID || got.TokenHash != hex.EncodeToString(sum[:]) || got.Token != "" {
			t.Errorf("event: id %s token %q token_hash %q, want %s, no token, the token's SHA-256", got.ID, got.Token, got.TokenHash, o.ID)
		}
	}, Migrations...)
}
