package invoice

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
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// fixture is the invoice service on one engine, served through the web
// platform, with a clock that moves one millisecond per reading and a
// store whose settings the test sets.
type fixture struct {
	t      *testing.T
	db     *sqldb.DB
	svc    *Service
	url    string
	stores *fakeStores

	mu    sync.Mutex
	clock time.Time
}

// fakeStores answers every tenant's store with the same settings.
type fakeStores struct {
	mu    sync.Mutex
	store tenantapi.Store
	calls int
	// probe, when set, runs on every read (as a remote call would take
	// its time).
	probe func(ctx context.Context) error
}

func (f *fakeStores) Store(ctx context.Context) (tenantapi.Store, error) {
	f.mu.Lock()
	f.calls++
	st := f.store
	probe := f.probe
	f.mu.Unlock()
	st.ID, _ = tenancy.ID(ctx)
	if probe != nil {
		if err := probe(ctx); err != nil {
			return tenantapi.Store{}, err
		}
	}
	return st, nil
}

func newFixture(t *testing.T, db *sqldb.DB, cfg Config) *fixture {
	t.Helper()
	a := testSeller.Address
	stores := &fakeStores{store: tenantapi.Store{Settings: tenantapi.Settings{Name: "Épicerie", LegalName: testSeller.Name,
		TaxID: testSeller.TaxID, Currency: "EUR", TimeZone: "Europe/Paris", InvoiceOn: tenantapi.InvoiceOnConfirmed,
		Address: tenantapi.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, Country: a.Country}}}}
	svc, err := New(t.Context(), cfg, Deps{Deps: kit.Deps{DB: db}, Stores: stores})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, svc: svc, clock: t0, stores: stores}
	svc.now = func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.clock = f.clock.Add(time.Millisecond)
		return f.clock
	}
	f.url = webtest.New(t, func(api *web.API) { svc.Routes(api) }).URL
	return f
}

func tenantCtx(t testing.TB, tenant string) context.Context {
	return tenancy.WithID(t.Context(), tenant)
}

func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// feed delivers an order event through the inbox, as the consumer does,
// and returns the envelope (to deliver again) and whether it was applied.
func (f *fixture) feed(tenant, subject string, payload any) (outbox.Envelope, bool) {
	f.t.Helper()
	e, err := outbox.NewEvent(tenantCtx(f.t, tenant), orderapi.Source, subject, t0, payload)
	if err != nil {
		f.t.Fatal(err)
	}
	applied, err := f.svc.HandleOrderEvent(f.t.Context(), e)
	if err != nil {
		f.t.Fatalf("handle %s: %v", subject, err)
	}
	return e, applied
}

// confirmed is the order.confirmed.v1 payload of o, its guest token
// "tok-<id>".
func confirmed(o orderapi.Order) orderapi.OrderEvent {
	return orderapi.OrderEvent{Order: o, TokenHash: hashOf("tok-" + o.ID)}
}

// count returns a number from the database, across tenants.
func count(t testing.TB, db *sqldb.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	err := db.ReadTx(sqldb.AllTenants(t.Context()), func(tx *sql.Tx) error {
		return tx.QueryRowContext(t.Context(), query, args...).Scan(&n)
	})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// call is one HTTP request of a test.
type call struct {
	method, path string
	authz        string // the Authorization header
	orderToken   string // X-Order-Token
	tenant       string // X-Mercato-Tenant; "default" when empty
}

// do makes the call and returns the status and body.
func (f *fixture) do(c call) (int, http.Header, []byte) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), c.method, f.url+c.path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if c.authz != "" {
		req.Header.Set("Authorization", c.authz)
	}
	if c.orderToken != "" {
		req.Header.Set(orderapi.OrderTokenHeader, c.orderToken)
	}
	if c.tenant != "" {
		req.Header.Set("X-Mercato-Tenant", c.tenant)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return res.StatusCode, res.Header, body
}

// want makes the call, checks its status and decodes its JSON body into
// out (unless nil).
func (f *fixture) want(c call, status int, out any) []byte {
	f.t.Helper()
	got, _, body := f.do(c)
	if got != status {
		f.t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, got, body, status)
	}
	if out != nil {
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(out); err != nil {
			f.t.Fatalf("%s %s: decode %s: %v", c.method, c.path, body, err)
		}
	}
	return body
}

// wantProblem makes the call and checks its status and problem code.
func (f *fixture) wantProblem(c call, status int, code string) {
	f.t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	f.want(c, status, &p)
	if p.Code != code {
		f.t.Errorf("%s %s: code %q, want %q", c.method, c.path, p.Code, code)
	}
}

// kitPaging is paging of size per page.
func kitPaging(size int) kit.Paging { return kit.Paging{PageSize: size, MaxPageSize: size} }
