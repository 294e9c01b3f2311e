package review

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/review/reviewapi"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// fixture is the review service on one engine, served through the web
// platform, with a clock that moves one millisecond per reading.
type fixture struct {
	t   *testing.T
	db  *sqldb.DB
	svc *Service
	url string

	mu    sync.Mutex
	clock time.Time
}

func newFixture(t *testing.T, db *sqldb.DB, cfg Config) *fixture {
	t.Helper()
	svc, err := New(t.Context(), cfg, Deps{Deps: kit.Deps{DB: db}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, svc: svc, clock: t0}
	svc.now = func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.clock = f.clock.Add(time.Millisecond)
		return f.clock
	}
	f.url = webtest.New(t, func(api *web.API) { svc.Routes(api) }).URL
	return f
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(d)
}

func tenantCtx(t testing.TB, tenant string) context.Context {
	return tenancy.WithID(t.Context(), tenant)
}

func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// order is an order event's payload: its lines are "<sku>" of product
// "p-<sku>", its guest token "tok-<id>".
func order(id, customer string, updated time.Time, skus ...string) orderapi.OrderEvent {
	o := orderapi.OrderEvent{Order: orderapi.Order{ID: id, CustomerID: customer, UpdatedAt: updated, Email: " Ada@Example.com",
		ShippingAddress: orderapi.Address{Name: "Ada Lovelace"}}, TokenHash: hashOf("tok-" + id)}
	for _, s := range skus {
		o.Lines = append(o.Lines, orderapi.Line{SKU: s, ProductID: "p-" + s, Title: "Product " + s})
	}
	return o
}

// feed delivers an order event through the inbox, as the consumer does,
// and returns the envelope (to deliver again) and whether it was applied.
func (f *fixture) feed(tenant, subject string, o orderapi.OrderEvent) (outbox.Envelope, bool) {
	f.t.Helper()
	e, err := outbox.NewEvent(tenantCtx(f.t, tenant), orderapi.Source, subject, o.UpdatedAt, o)
	if err != nil {
		f.t.Fatal(err)
	}
	applied, err := f.svc.HandleOrderEvent(f.t.Context(), e)
	if err != nil {
		f.t.Fatalf("handle %s: %v", subject, err)
	}
	return e, applied
}

// delivered feeds the confirmation and the delivery of an order.
func (f *fixture) delivered(tenant string, o orderapi.OrderEvent) {
	f.t.Helper()
	f.feed(tenant, orderapi.SubjectConfirmed, o)
	o.UpdatedAt = o.UpdatedAt.Add(time.Hour)
	f.feed(tenant, orderapi.SubjectDelivered, o)
}

// events returns the outbox's events of subject, oldest first, decoded
// into a new T each.
func events[T any](t *testing.T, db *sqldb.DB, subject string) []T {
	t.Helper()
	var out []T
	err := db.ReadTx(sqldb.AllTenants(t.Context()), func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(t.Context(), `SELECT envelope FROM outbox WHERE subject = $1 ORDER BY id`, subject)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var raw string
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			var e outbox.Envelope
			if err := json.Unmarshal([]byte(raw), &e); err != nil {
				return err
			}
			var v T
			if err := json.Unmarshal(e.Data, &v); err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lastRating is the newest review.rating_changed.v1 of a product.
func lastRating(t *testing.T, db *sqldb.DB, productID string) reviewapi.RatingChanged {
	t.Helper()
	var last reviewapi.RatingChanged
	for _, r := range events[reviewapi.RatingChanged](t, db, reviewapi.SubjectRatingChanged) {
		if r.ProductID == productID {
			last = r
		}
	}
	return last
}

// call is one HTTP request of a test.
type call struct {
	method, path string
	body         any
	tenant       string
	authz        string // Authorization header
	orderToken   string // X-Order-Token header
}

type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Errors []struct {
		Location string `json:"location"`
	} `json:"errors"`
}

// do sends c and returns the status and the raw answer.
func (f *fixture) do(t testing.TB, c call) (int, []byte) {
	var rd io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), c.method, f.url+c.path, rd)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	tenant := c.tenant
	if tenant == "" {
		tenant = "default"
	}
	req.Header.Set(tenancy.Header, tenant)
	if c.authz != "" {
		req.Header.Set("Authorization", c.authz)
	}
	if c.orderToken != "" {
		req.Header.Set("X-Order-Token", c.orderToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// want sends c, wants status and decodes the answer into out (if not nil).
func (f *fixture) want(c call, status int, out any) {
	f.t.Helper()
	got, b := f.do(f.t, c)
	if got != status {
		f.t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, got, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			f.t.Fatalf("%s %s: decode %s: %v", c.method, c.path, b, err)
		}
	}
}

// wantProblem sends c and wants a problem of status and code.
func (f *fixture) wantProblem(c call, status int, code string) {
	f.t.Helper()
	var p problem
	f.want(c, status, &p)
	if p.Code != code {
		f.t.Errorf("%s %s: code %q, want %q", c.method, c.path, p.Code, code)
	}
}

// customer is the Authorization header of customer id of the default store.
func customer(t testing.TB, id string) string {
	return webtest.Bearer(t, auth.Principal{Tenant: "default", Subject: id, Kind: auth.KindCustomer})
}

// kitPaging is paging of size per page.
func kitPaging(size int) kit.Paging { return kit.Paging{PageSize: size, MaxPageSize: size} }
