package inventory

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

// bearer adds the admin token, as the platform's service client does.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

type httpFixture struct {
	url    string
	svc    *Service
	client *inventoryapi.Client
}

func newHTTPFixture(t *testing.T, db *sqldb.DB) *httpFixture {
	t.Helper()
	svc, _ := newTestService(t, db, nil)
	srv := webtest.New(t, func(api *web.API) { svc.Routes(api) })
	return &httpFixture{url: srv.URL, svc: svc, client: inventoryapi.NewClient(srv.URL, &http.Client{Transport: bearer{webtest.AdminToken}})}
}

// raw sends one request with the admin token (unless token is "none") and
// returns the status and body.
func (f *httpFixture) raw(t *testing.T, method, path, body, token string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "none" {
		req.Header.Set("Authorization", "Bearer "+webtest.AdminToken)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestHTTPClientContract(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newHTTPFixture(t, db)
		ctx := tenantCtx(t, "default")
		c := f.client

		lvl, err := c.Adjust(ctx, "MUG-1", inventoryapi.Adjustment{Delta: 4, Reason: "delivery"}, "")
		if err != nil || lvl.OnHand != 4 || lvl.Available != 4 {
			t.Fatalf("adjust = %+v, %v", lvl, err)
		}
		r, err := c.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "ord-1", Lines: []inventoryapi.Line{{SKU: "MUG-1", Quantity: 3}}})
		if err != nil || r.Status != inventoryapi.StatusHeld || len(r.Lines) != 1 || r.Lines[0].Location != "default" {
			t.Fatalf("reserve = %+v, %v", r, err)
		}
		again, err := c.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "ord-1", Lines: []inventoryapi.Line{{SKU: "MUG-1", Quantity: 3}}})
		if err != nil || !again.CreatedAt.Equal(r.CreatedAt) {
			t.Fatalf("repeat reserve = %+v, %v", again, err)
		}
		_, err = c.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "ord-2", Lines: []inventoryapi.Line{{SKU: "MUG-1", Quantity: 1}, {SKU: "MUG-1", Quantity: 1}}})
		var oos *inventoryapi.OutOfStockError
		if !errors.As(err, &oos) || oos.SKU != "MUG-1" || oos.Requested != 2 || oos.Available != 1 {
			t.Fatalf("reserve too many = %#v, want OutOfStockError MUG-1 2/1", err)
		}
		if !strings.Contains(oos.Error(), "MUG-1") {
			t.Errorf("error %q does not name the SKU", oos.Error())
		}
		if _, err := c.Commit(ctx, "ord-1"); err != nil {
			t.Fatalf("commit: %v", err)
		}
		if r, err := c.Commit(ctx, "ord-1"); err != nil || r.Status != inventoryapi.StatusCommitted {
			t.Fatalf("repeat commit = %+v, %v", r, err)
		}
		if _, err := c.Release(ctx, "ord-1", "customer"); !errors.Is(err, inventoryapi.ErrReservationClosed) {
			t.Errorf("release committed = %v, want ErrReservationClosed", err)
		}
		if _, err := c.Release(ctx, "ord-x", "customer"); !errors.Is(err, inventoryapi.ErrNotFound) {
			t.Errorf("release unknown = %v, want ErrNotFound", err)
		}
		if _, err := c.Commit(ctx, "ord-x"); !errors.Is(err, inventoryapi.ErrNotFound) {
			t.Errorf("commit unknown = %v, want ErrNotFound", err)
		}
		if _, err := c.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "ord-3", Lines: []inventoryapi.Line{{SKU: "MUG-1", Quantity: 1}}}); err != nil {
			t.Fatal(err)
		}
		if r, err := c.Release(ctx, "ord-3", "payment_declined"); err != nil || r.Status != inventoryapi.StatusReleased {
			t.Fatalf("release = %+v, %v", r, err)
		}
		if _, err := c.Commit(ctx, "ord-3"); !errors.Is(err, inventoryapi.ErrReservationClosed) {
			t.Errorf("commit released = %v, want ErrReservationClosed", err)
		}
		if r, err := c.Reservation(ctx, "ord-3"); err != nil || r.Reason != "payment_declined" {
			t.Errorf("get reservation = %+v, %v", r, err)
		}
		for range 2 {
			if err := c.Restock(ctx, inventoryapi.RestockRequest{Reference: "ret-1", Lines: []inventoryapi.Line{{SKU: "MUG-1", Quantity: 2}}}); err != nil {
				t.Fatalf("restock: %v", err)
			}
		}
		lvl, err = c.Stock(ctx, "MUG-1")
		if err != nil || lvl.OnHand != 3 || lvl.Reserved != 0 {
			t.Errorf("stock = %+v, %v; want 4-3+2 = 3 on hand", lvl, err)
		}
		if _, err := c.Stock(ctx, "NOPE"); !errors.Is(err, inventoryapi.ErrNotFound) {
			t.Errorf("stock unknown = %v, want ErrNotFound", err)
		}
		_, err = c.Adjust(ctx, "MUG-1", inventoryapi.Adjustment{Delta: -4, Reason: "breakage"}, "")
		if !apiclient.IsCode(err, "insufficient_stock") {
			t.Errorf("adjust below 0 = %v, want insufficient_stock", err)
		}
		if lvl, err := c.SetThreshold(ctx, "MUG-1", 2); err != nil || lvl.LowStockThreshold != 2 || lvl.Low {
			t.Errorf("threshold = %+v, %v", lvl, err)
		}
		mv, err := c.Movements(ctx, inventoryapi.ListParams{SKU: "MUG-1", Limit: 2})
		if err != nil || len(mv.Items) != 2 || mv.NextCursor == "" || mv.Items[0].Kind != inventoryapi.KindRestock {
			t.Errorf("movements = %+v, %v", mv, err)
		}
		list, err := c.List(ctx, inventoryapi.ListParams{})
		if err != nil || len(list.Items) != 1 {
			t.Errorf("list = %+v, %v", list, err)
		}
		a, err := c.Audit(ctx)
		if err != nil || a != (inventoryapi.Audit{}) {
			t.Errorf("audit = %+v, %v", a, err)
		}
		// Tenants are apart over HTTP too.
		if _, err := c.Stock(tenantCtx(t, "acme"), "MUG-1"); !errors.Is(err, inventoryapi.ErrNotFound) {
			t.Errorf("acme stock = %v, want ErrNotFound", err)
		}
	}, Migrations...)
}

func TestHTTPStatusesAndCodes(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	f := newHTTPFixture(t, db)
	mustAdjust(t, f.svc, tenantCtx(t, "default"), "A", "", 2)
	tests := []struct {
		name, method, path, body, token string
		status                          int
		code                            string
	}{
		{"no token", "GET", "/api/v1/admin/inventory/A", "", "none", 401, "unauthorized"},
		{"reserve new", "POST", "/api/v1/admin/inventory/reservations", `{"order_id":"o1","lines":[{"sku":"A","quantity":1}]}`, "", 201, ""},
		{"reserve repeat", "POST", "/api/v1/admin/inventory/reservations", `{"order_id":"o1","lines":[{"sku":"A","quantity":1}]}`, "", 200, ""},
		{"reserve zero", "POST", "/api/v1/admin/inventory/reservations", `{"order_id":"o2","lines":[{"sku":"A","quantity":0}]}`, "", 422, "validation_failed"},
		{"reserve too many", "POST", "/api/v1/admin/inventory/reservations", `{"order_id":"o2","lines":[{"sku":"A","quantity":10001}]}`, "", 422, "validation_failed"},
		{"reserve out", "POST", "/api/v1/admin/inventory/reservations", `{"order_id":"o2","lines":[{"sku":"A","quantity":2}]}`, "", 409, "out_of_stock"},
		{"release no body", "POST", "/api/v1/admin/inventory/orders/o1/reservation/release", "", "", 200, ""},
		{"commit released", "POST", "/api/v1/admin/inventory/orders/o1/reservation/commit", "", "", 409, "reservation_closed"},
		{"get unknown reservation", "GET", "/api/v1/admin/inventory/orders/zz/reservation", "", "", 404, "reservation_not_found"},
		// The paths before /inventory/orders/{order_id}/reservation still answer.
		{"get by the old path", "GET", "/api/v1/admin/inventory/reservations/o1", "", "", 200, ""},
		{"commit by the old path", "POST", "/api/v1/admin/inventory/reservations/o1/commit", "", "", 409, "reservation_closed"},
		{"release by the old path", "POST", "/api/v1/admin/inventory/reservations/o1/release", "", "", 200, ""},
		{"adjust zero", "POST", "/api/v1/admin/inventory/A/adjustments", `{"delta":0,"reason":"x"}`, "", 422, "validation_failed"},
		{"adjust no reason", "POST", "/api/v1/admin/inventory/A/adjustments", `{"delta":1}`, "", 422, "validation_failed"},
		{"adjust below", "POST", "/api/v1/admin/inventory/A/adjustments", `{"delta":-3,"reason":"x"}`, "", 409, "insufficient_stock"},
		{"adjust location", "POST", "/api/v1/admin/inventory/A/adjustments", `{"delta":3,"reason":"x","location":"north"}`, "", 200, ""},
		{"threshold negative", "PUT", "/api/v1/admin/inventory/A/threshold", `{"threshold":-1}`, "", 422, "validation_failed"},
		{"restock new", "POST", "/api/v1/admin/inventory/restocks", `{"reference":"r1","lines":[{"sku":"A","quantity":1}]}`, "", 201, ""},
		{"restock repeat", "POST", "/api/v1/admin/inventory/restocks", `{"reference":"r1","lines":[{"sku":"A","quantity":1}]}`, "", 200, ""},
		{"bad cursor", "GET", "/api/v1/admin/inventory/movements?cursor=xyz", "", "", 422, "invalid_cursor"},
		{"low list", "GET", "/api/v1/admin/inventory?low=true", "", "", 200, ""},
		{"audit", "GET", "/api/v1/admin/inventory/audit", "", "", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.raw(t, tc.method, tc.path, tc.body, tc.token)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.code != "" && !strings.Contains(body, `"code":"`+tc.code+`"`) {
				t.Errorf("body %s, want code %s", body, tc.code)
			}
		})
	}
	// The out-of-stock problem names the line and SKU as the contract says.
	_, body := f.raw(t, "POST", "/api/v1/admin/inventory/reservations", `{"order_id":"o9","lines":[{"sku":"A","quantity":1},{"sku":"B","quantity":1}]}`, "")
	for _, want := range []string{`"location":"lines[1].sku"`, `"message":"only 0 available"`, `"value":"B"`} {
		if !strings.Contains(body, want) {
			t.Errorf("out of stock body %s lacks %s", body, want)
		}
	}
	assertAudit(t, f.svc, tenantCtx(t, "default"))
}
