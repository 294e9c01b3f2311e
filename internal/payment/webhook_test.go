package payment

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// TestProviderVoidWebhook: an authorization.canceled webhook signed with
// any other secret than the configured one (the laptop default of old
// releases among them) is refused and changes nothing; a signed one voids
// the payment and publishes payment.voided.v1 saying the provider did it.
func TestProviderVoidWebhook(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		svc, fake, clk := newTestService(t, db)
		srv := webtest.New(t, func(api *web.API) { svc.Routes(api) })
		ctx := tctx(t)
		p := mustAuthorize(t, svc, ctx, "o-hook", 3000)
		body := []byte(`{"id":"evt_cancel_1","type":"authorization.canceled","data":{"ref":"` + p.ProviderRef + `"}}`)
		post := func(sig string) int {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/api/v1/payments/webhooks/fake", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if sig != "" {
				req.Header.Set(FakeSignatureHeader, sig)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		voided := func() []paymentapi.PaymentEvent {
			var out []paymentapi.PaymentEvent
			err := db.ReadTx(sqldb.AllTenants(ctx), func(tx *sql.Tx) error {
				rows, err := tx.QueryContext(ctx, `SELECT envelope FROM outbox WHERE subject = $1`, paymentapi.SubjectVoided)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var raw string
					if err := rows.Scan(&raw); err != nil {
						return err
					}
					var env struct {
						Data paymentapi.PaymentEvent `json:"data"`
					}
					if err := json.Unmarshal([]byte(raw), &env); err != nil {
						return err
					}
					out = append(out, env.Data)
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		for name, sig := range map[string]string{
			"old default secret": NewFake(nil, 0, "whsec_mercato_fake_laptop").SignWebhook(body, clk.now()),
			"guessed secret":     NewFake(nil, 0, "whsec_test_guess").SignWebhook(body, clk.now()),
			"empty secret":       NewFake(nil, 0, "").SignWebhook(body, clk.now()),
			"no signature":       "",
		} {
			if got := post(sig); got != http.StatusBadRequest && got != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 400 or 401", name, got)
			}
		}
		if got, err := svc.Get(ctx, "o-hook"); err != nil || got.Status != paymentapi.StatusAuthorized {
			t.Fatalf("a forged webhook changed the payment: %+v, %v", got, err)
		}
		if ev := voided(); len(ev) != 0 {
			t.Fatalf("a forged webhook published %+v", ev)
		}

		if err := fake.Void(ctx, p.ProviderRef, "canceled-in-the-dashboard"); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the redelivery has no second effect
			if got := post(fake.SignWebhook(body, clk.now())); got != http.StatusNoContent && got != http.StatusOK {
				t.Fatalf("signed webhook: status %d", got)
			}
		}
		if got, err := svc.Get(ctx, "o-hook"); err != nil || got.Status != paymentapi.StatusVoided {
			t.Fatalf("after the signed webhook: %+v, %v; want voided", got, err)
		}
		ev := voided()
		if len(ev) != 1 {
			t.Fatalf("%d payment.voided.v1 events, want 1", len(ev))
		}
		if e := ev[0]; e.Payment.OrderID != "o-hook" || e.Payment.Status != paymentapi.StatusVoided ||
			e.Reason != paymentapi.ReasonVoidedAtProvider || e.ProviderEventID != "evt_cancel_1" || e.Amount != eur(3000) {
			t.Errorf("voided event %+v", e)
		}
	}, Migrations...)
}
