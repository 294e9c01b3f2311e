package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// TestCheckoutAfterDatabaseRestart ends every session of the shop's
// PostgreSQL database, as a restart or a failover of the database does to
// the pooled connections of every service, and checks that the requests
// that follow at once (checkouts with their reservations and payments,
// quotes, reads of orders, payments and stock) succeed: none reaches a
// dead connection, and no checkout is lost or doubled.
func TestCheckoutAfterDatabaseRestart(t *testing.T) {
	pg := os.Getenv("MERCATO_TEST_POSTGRES")
	if pg == "" {
		t.Skip("MERCATO_TEST_POSTGRES is not set")
	}
	t.Parallel()
	dbURL := scratchDatabase(t, pg)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	cfg, err := pgx.ParseConfig(pg)
	if err != nil {
		t.Fatal(err)
	}
	admin := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { admin.Close() })

	// Paid with the fake provider's tokens, enabled as engines does.
	s := openShop(t, []string{"-db=" + dbURL, "-payment.fake=true"})
	const rounds, perRound = 3, 4
	sku := s.newSKU(rounds * perRound * 2)
	email := "restart-" + strings.ToLower(randomHex(3)) + "@example.com"
	body := checkoutBody(email, "tok_visa", map[string]int{sku: 1})
	var ids []string
	for round := range rounds {
		// Every service has used its pool: checkouts touch most of them.
		if r := s.checkout(body, ""); r.Status != http.StatusCreated {
			t.Fatalf("round %d: checkout before the restart: %d %s", round, r.Status, r.Body)
		} else {
			ids = append(ids, orderID(t, r.Body))
		}
		if n := endSessions(t, admin, dbName); n == 0 {
			t.Fatalf("round %d: no session of %s to end", round, dbName)
		}
		for i := range perRound {
			r := s.checkout(body, "")
			if r.Status != http.StatusCreated {
				t.Fatalf("round %d: checkout %d after the restart: %d %s", round, i, r.Status, r.Body)
			}
			ids = append(ids, orderID(t, r.Body))
		}
		if r := s.p.Call("POST", "/api/v1/quote", map[string]any{"items": []map[string]any{{"sku": sku, "quantity": 1}}}, nil); r.Status != http.StatusOK {
			t.Errorf("round %d: quote after the restart: %d %s", round, r.Status, r.Body)
		}
	}
	for _, id := range ids {
		if pay, ok := s.payment(id); !ok || pay.Status != "authorized" {
			t.Errorf("order %s: payment %+v (found %v), want authorized", id, pay, ok)
		}
	}
	if got := len(s.ordersOf(email)); got != len(ids) {
		t.Errorf("%d orders for %s, want %d: one per checkout", got, email, len(ids))
	}
	if l := s.stock(sku); l.OnHand != int64(rounds*perRound*2-len(ids)) || l.Reserved != 0 {
		t.Errorf("stock %+v, want %d sold once each", l, len(ids))
	}
}

func orderID(t *testing.T, body []byte) string {
	t.Helper()
	var o order
	if err := json.Unmarshal(body, &o); err != nil || o.ID == "" {
		t.Fatalf("checkout answer without an order: %v %s", err, body)
	}
	return o.ID
}

// endSessions terminates every session connected to database name (only
// the shop's: the scratch database is this test's own) and waits until
// they are gone. It returns how many it ended.
func endSessions(t *testing.T, admin *sql.DB, name string) int {
	t.Helper()
	ctx := context.Background()
	rows, err := admin.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int64
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		// The function in the select list, the filter in WHERE: only a
		// session of this database is ever ended.
		if _, err := admin.ExecContext(ctx, `
			SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND datname = $2`, pid, name); err != nil {
			t.Fatalf("terminate backend %d: %v", pid, err)
		}
	}
	for deadline := time.Now().Add(time.Minute); ; {
		var left int
		if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)`, pids).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return len(pids)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions of %s still there a minute after they were terminated", left, name)
		}
		time.Sleep(time.Millisecond)
	}
}
