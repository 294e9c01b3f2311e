package order

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// fakeInventory keeps available stock per SKU and reservations per order.
type fakeInventory struct {
	mu        sync.Mutex
	available map[string]int64
	res       map[string]*inventoryapi.Reservation
	lines     map[string][]inventoryapi.Line
	restocked map[string]string // reference → the order it named
	reserves  int               // Reserve calls that created a reservation
	fail      error
}

func (f *fakeInventory) Reserve(_ context.Context, r inventoryapi.ReserveRequest) (inventoryapi.Reservation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return inventoryapi.Reservation{}, f.fail
	}
	if x, ok := f.res[r.OrderID]; ok {
		return *x, nil
	}
	for _, l := range r.Lines {
		if f.available[l.SKU] < l.Quantity {
			return inventoryapi.Reservation{}, &inventoryapi.OutOfStockError{SKU: l.SKU, Requested: l.Quantity, Available: f.available[l.SKU]}
		}
	}
	for _, l := range r.Lines {
		f.available[l.SKU] -= l.Quantity
	}
	f.reserves++
	x := &inventoryapi.Reservation{OrderID: r.OrderID, Status: inventoryapi.StatusHeld}
	f.res[r.OrderID], f.lines[r.OrderID] = x, r.Lines
	return *x, nil
}

func (f *fakeInventory) Commit(_ context.Context, id string) (inventoryapi.Reservation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x, ok := f.res[id]
	switch {
	case !ok:
		return inventoryapi.Reservation{}, inventoryapi.ErrNotFound
	case x.Status == inventoryapi.StatusHeld:
		x.Status = inventoryapi.StatusCommitted
	case x.Status != inventoryapi.StatusCommitted:
		return inventoryapi.Reservation{}, inventoryapi.ErrReservationClosed
	}
	return *x, nil
}

func (f *fakeInventory) Release(_ context.Context, id, _ string) (inventoryapi.Reservation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x, ok := f.res[id]
	switch {
	case !ok:
		return inventoryapi.Reservation{}, inventoryapi.ErrNotFound
	case x.Status == inventoryapi.StatusCommitted:
		return inventoryapi.Reservation{}, inventoryapi.ErrReservationClosed
	case x.Status == inventoryapi.StatusHeld:
		x.Status = inventoryapi.StatusReleased
		for _, l := range f.lines[id] {
			f.available[l.SKU] += l.Quantity
		}
	}
	return *x, nil
}

func (f *fakeInventory) Restock(_ context.Context, r inventoryapi.RestockRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.restocked[r.Reference]; ok {
		return nil
	}
	f.restocked[r.Reference] = r.OrderID
	for _, l := range r.Lines {
		f.available[l.SKU] += l.Quantity
	}
	return nil
}

// restockedFor is the order a restock with reference named.
func (f *fakeInventory) restockedFor(reference string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.restocked[reference]
}

// expire lets a held reservation run out.
func (f *fakeInventory) expire(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if x := f.res[id]; x != nil && x.Status == inventoryapi.StatusHeld {
		x.Status = inventoryapi.StatusExpired
		for _, l := range f.lines[id] {
			f.available[l.SKU] += l.Quantity
		}
	}
}

func (f *fakeInventory) stock() map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.available)
}

func (f *fakeInventory) held() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, x := range f.res {
		if x.Status == inventoryapi.StatusHeld {
			n++
		}
	}
	return n
}

func (f *fakeInventory) status(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if x := f.res[id]; x != nil {
		return x.Status
	}
	return ""
}

// fakePricing prices SKUs at fixed EUR prices, shipping 500, coupon SAVE5
// (500 off), EXPIRED (expired) and SCARCE (exhausted at redemption).
type fakePricing struct {
	mu       sync.Mutex
	prices   map[string]int64
	redeemed map[string]string // order → active|released
	quotes   int
}

func apiErr(status int, code, detail, loc string, v any) *apiclient.Error {
	return &apiclient.Error{Status: status, Code: code, Detail: detail, Service: "pricing",
		Errors: []apiclient.FieldError{{Location: loc, Message: detail, Value: v}}}
}

func (f *fakePricing) Quote(_ context.Context, r pricingapi.QuoteRequest) (pricingapi.Quote, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.quotes++
	if r.Currency != "" && r.Currency != "EUR" {
		return pricingapi.Quote{}, apiErr(422, "currency_mismatch", "items are priced in EUR", "body.currency", r.Currency)
	}
	eur := func(a int64) money.Money { return money.Money{Amount: a, Currency: "EUR"} }
	q := pricingapi.Quote{Currency: "EUR", Country: r.Country, ShippingMethod: "standard", Shipping: eur(500),
		Discount: eur(0), Tax: eur(0), ShippingTax: eur(0)}
	var sub int64
	for i, it := range r.Items {
		p, ok := f.prices[it.SKU]
		if !ok {
			return pricingapi.Quote{}, apiErr(422, "unknown_sku", "unknown SKU "+it.SKU, fmt.Sprintf("body.items[%d].sku", i), it.SKU)
		}
		q.Lines = append(q.Lines, pricingapi.QuoteLine{SKU: it.SKU, ProductID: "p-" + it.SKU, Title: it.SKU, Quantity: it.Quantity,
			UnitPrice: eur(p), Subtotal: eur(p * it.Quantity), Discount: eur(0), Tax: eur(0), Total: eur(p * it.Quantity)})
		sub += p * it.Quantity
	}
	if r.ShippingMethod != "" && r.ShippingMethod != "standard" {
		return pricingapi.Quote{}, apiErr(422, "unknown_shipping_method", "no such shipping method", "body.shipping_method", r.ShippingMethod)
	}
	var disc int64
	switch r.Coupon {
	case "":
	case "SAVE5", "SCARCE":
		disc = min(500, sub)
		q.Coupon = r.Coupon
		q.Lines[0].Discount, q.Lines[0].Total = eur(disc), eur(q.Lines[0].Total.Amount-disc)
	case "EXPIRED":
		return pricingapi.Quote{}, apiErr(422, "coupon_expired", "the coupon expired", "body.coupon", r.Coupon)
	default:
		return pricingapi.Quote{}, apiErr(422, "unknown_coupon", "no such coupon", "body.coupon", r.Coupon)
	}
	q.Subtotal, q.Discount, q.Total = eur(sub), eur(disc), eur(sub-disc+500)
	return q, nil
}

func (f *fakePricing) Redeem(_ context.Context, r pricingapi.RedeemRequest) (pricingapi.Redemption, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Coupon == "SCARCE" {
		return pricingapi.Redemption{}, &apiclient.Error{Status: http.StatusConflict, Code: "coupon_exhausted", Service: "pricing"}
	}
	f.redeemed[r.OrderID] = "active"
	return pricingapi.Redemption{OrderID: r.OrderID, Coupon: r.Coupon, Status: "active"}, nil
}

func (f *fakePricing) ReleaseRedemption(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.redeemed[id]; ok {
		f.redeemed[id] = "released"
	}
	return nil
}

func (f *fakePricing) active() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, st := range f.redeemed {
		if st == "active" {
			n++
		}
	}
	return n
}

// fakePayment authorizes tok_visa, declines tok_declined, times out on
// tok_timeout (leaving the payment failed), and keeps the ledger rules.
type fakePayment struct {
	mu         sync.Mutex
	pays       map[string]*paymentapi.Payment
	keys       map[string]bool
	authorizes int // Authorize calls that reached the provider
	// fail makes an operation ("capture", "void", "refund") on an order
	// fail with the error given (see clientError).
	fail  map[string]error
	calls map[string]int // operation → calls
	// offered are the providers on offer (nil: fake only); providersErr
	// fails the list.
	offered      []string
	providersErr error
}

func (f *fakePayment) Providers(context.Context) (paymentapi.Providers, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.providersErr != nil {
		return paymentapi.Providers{}, f.providersErr
	}
	if f.offered == nil {
		return paymentapi.Providers{Providers: []string{paymentapi.ProviderFake}}, nil
	}
	return paymentapi.Providers{Providers: slices.Clone(f.offered)}, nil
}

// failing returns the error set for op on order id, counting the call.
func (f *fakePayment) failing(op, id string) error {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	return f.fail[op+" "+id]
}

// setFail makes op on order id fail with err (nil: succeed again).
func (f *fakePayment) setFail(op, id string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		f.fail = map[string]error{}
	}
	f.fail[op+" "+id] = err
}

func (f *fakePayment) callCount(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// clientError is the error the real payment client returns for a problem
// answer of the payment service (errors[0].value the reason, as for a
// decline): the order service must class it as the client gives it.
func clientError(t *testing.T, status int, code, reason string) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		// The detail as the payment service words an invalid request:
		// its Go error text, which must not reach the order's users.
		_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "code": code, "detail": "capture order o1: payment: invalid input: " + code,
			"errors": []map[string]any{{"location": "body.token", "message": code, "value": reason}}})
	}))
	defer srv.Close()
	_, err := paymentapi.NewClient(srv.URL, nil).Get(ctxFor(t, "default"), "any")
	if err == nil {
		t.Fatal("the payment client took a problem answer for success")
	}
	return err
}

func (f *fakePayment) Authorize(_ context.Context, r paymentapi.AuthorizeRequest) (paymentapi.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.pays[r.OrderID]; ok {
		if p.Status == paymentapi.StatusFailed && p.FailureCode == "declined" {
			return paymentapi.Payment{}, &paymentapi.DeclinedError{Reason: "declined"}
		}
		return *p, nil
	}
	f.authorizes++
	zero := money.Money{Currency: r.Amount.Currency}
	p := &paymentapi.Payment{OrderID: r.OrderID, Amount: r.Amount, Captured: zero, Refunded: zero, Status: paymentapi.StatusAuthorized}
	f.pays[r.OrderID] = p
	switch r.Token {
	case "tok_declined":
		p.Status, p.FailureCode = paymentapi.StatusFailed, "declined"
		return paymentapi.Payment{}, &paymentapi.DeclinedError{Reason: "declined"}
	case "tok_timeout":
		p.Status, p.FailureCode = paymentapi.StatusFailed, "timeout"
		return paymentapi.Payment{}, fmt.Errorf("payment api: %w", paymentapi.ErrTimeout)
	case "tok_busy", "tok_conflict":
		// The service answered before reaching the provider: nothing held.
		delete(f.pays, r.OrderID)
		f.authorizes--
		if r.Token == "tok_busy" {
			return paymentapi.Payment{}, &apiclient.Error{Status: 429, Code: "rate_limited", Service: "payment"}
		}
		return paymentapi.Payment{}, &apiclient.Error{Status: 409, Code: "conflict", Service: "payment"}
	}
	return *p, nil
}

func (f *fakePayment) Capture(_ context.Context, id string, r paymentapi.CaptureRequest) (paymentapi.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failing("capture", id); err != nil {
		return paymentapi.Payment{}, err
	}
	p, ok := f.pays[id]
	if !ok {
		return paymentapi.Payment{}, paymentapi.ErrNotFound
	}
	if f.keys["c"+id+r.Key] {
		return *p, nil
	}
	if p.Status != paymentapi.StatusAuthorized || p.Captured.Amount+r.Amount.Amount > p.Amount.Amount {
		return paymentapi.Payment{}, &apiclient.Error{Status: 409, Code: "invalid_payment_state", Service: "payment"}
	}
	f.keys["c"+id+r.Key] = true
	p.Captured.Amount += r.Amount.Amount
	p.Status = paymentapi.StatusCaptured
	return *p, nil
}

func (f *fakePayment) Void(_ context.Context, id string) (paymentapi.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failing("void", id); err != nil {
		return paymentapi.Payment{}, err
	}
	p, ok := f.pays[id]
	if !ok {
		return paymentapi.Payment{}, paymentapi.ErrNotFound
	}
	switch p.Status {
	case paymentapi.StatusAuthorized, paymentapi.StatusPending:
		p.Status = paymentapi.StatusVoided
	case paymentapi.StatusCaptured:
		return paymentapi.Payment{}, &apiclient.Error{Status: 409, Code: "invalid_payment_state", Service: "payment"}
	}
	return *p, nil
}

func (f *fakePayment) Refund(_ context.Context, id string, r paymentapi.RefundRequest) (paymentapi.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failing("refund", id); err != nil {
		return paymentapi.Payment{}, err
	}
	p, ok := f.pays[id]
	if !ok {
		return paymentapi.Payment{}, paymentapi.ErrNotFound
	}
	if f.keys["r"+id+r.Key] {
		return *p, nil
	}
	if r.Amount.Amount > p.Captured.Amount-p.Refunded.Amount {
		return paymentapi.Payment{}, fmt.Errorf("payment api: %w", paymentapi.ErrRefundExceedsCaptured)
	}
	f.keys["r"+id+r.Key] = true
	p.Refunded.Amount += r.Amount.Amount
	return *p, nil
}

func (f *fakePayment) Get(_ context.Context, id string) (paymentapi.Payment, error) {
	p, ok := f.payment(id)
	if !ok {
		return paymentapi.Payment{}, paymentapi.ErrNotFound
	}
	return p, nil
}

func (f *fakePayment) payment(id string) (paymentapi.Payment, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pays[id]
	if !ok {
		return paymentapi.Payment{}, false
	}
	return *p, true
}

// authorized counts payments left authorized (neither captured nor voided).
func (f *fakePayment) authorized() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, p := range f.pays {
		if p.Status == paymentapi.StatusAuthorized {
			ids = append(ids, id)
		}
	}
	return ids
}

type fakeCart struct{ carts map[string]cartapi.Cart }

func (f *fakeCart) Lines(_ context.Context, id string) (cartapi.Cart, error) {
	c, ok := f.carts[id]
	if !ok {
		return cartapi.Cart{}, cartapi.ErrNotFound
	}
	return c, nil
}

// world is the service under test with its fakes.
type world struct {
	svc   *Service
	db    *sqldb.DB
	inv   *fakeInventory
	price *fakePricing
	pay   *fakePayment
	cart  *fakeCart
	clock *clock
}

// clock is a settable now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Microsecond) // strictly increasing, like real time
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newWorld(t *testing.T, db *sqldb.DB, cfg Config) *world {
	t.Helper()
	w := &world{
		db:  db,
		inv: &fakeInventory{available: map[string]int64{"MUG-1": 10, "TEE-M": 5, "CAP-1": 1}, res: map[string]*inventoryapi.Reservation{}, lines: map[string][]inventoryapi.Line{}, restocked: map[string]string{}},
		// "../../etc/passwd" is priced (a catalog that took it) but is no
		// SKU inventory can stock.
		price: &fakePricing{prices: map[string]int64{"MUG-1": 1200, "TEE-M": 2500, "CAP-1": 900, "../../etc/passwd": 100}, redeemed: map[string]string{}},
		pay:   &fakePayment{pays: map[string]*paymentapi.Payment{}, keys: map[string]bool{}},
		cart:  &fakeCart{carts: map[string]cartapi.Cart{}},
		clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
	}
	w.svc = w.service(t, cfg)
	return w
}

// service builds a Service on the world's database and fakes: a second
// one stands for a restarted process.
func (w *world) service(t *testing.T, cfg Config) *Service {
	t.Helper()
	svc, err := New(t.Context(), cfg, Deps{Deps: kit.Deps{DB: w.db}, Inventory: w.inv, Pricing: w.price, Payment: w.pay, Cart: w.cart})
	if err != nil {
		t.Fatal(err)
	}
	svc.now = w.clock.now
	return svc
}

func ctxFor(t *testing.T, tenant string) context.Context {
	return tenancy.WithID(t.Context(), tenant)
}

func checkoutReq(items ...orderapi.Item) orderapi.CheckoutRequest {
	if len(items) == 0 {
		items = []orderapi.Item{{SKU: "MUG-1", Quantity: 2}}
	}
	return orderapi.CheckoutRequest{
		Items: items, Email: "ada@example.com",
		ShippingAddress: orderapi.Address{Name: "Ada Lovelace", Line1: "12 Analytical Row", City: "London", PostalCode: "N1 9GU", Country: "GB"},
		Payment:         orderapi.PaymentInput{Provider: "fake", Token: "tok_visa"},
	}
}

// readAll runs fn in a read transaction that sees every tenant's rows:
// the tests' assertions straight on the tables (row-level security on
// PostgreSQL shows nothing outside a transaction scoped to a tenant).
func readAll(t *testing.T, db *sqldb.DB, fn func(tx *sql.Tx) error) {
	t.Helper()
	ctx := sqldb.AllTenants(t.Context())
	if err := db.ReadTx(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

// count returns SELECT COUNT(*) FROM table over every tenant.
func count(t *testing.T, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	readAll(t, db, func(tx *sql.Tx) error {
		return tx.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n)
	})
	return n
}

// outboxSubjects lists the subjects in the outbox, oldest first.
func outboxSubjects(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	var out []string
	readAll(t, db, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(t.Context(), `SELECT subject FROM outbox ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	return out
}
