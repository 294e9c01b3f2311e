package order

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// MaxQuantity is the largest quantity of one SKU an order may have.
const MaxQuantity = 10000

// normalize trims the request, merges duplicate SKUs and checks every field
// that needs no other service. A failure writes nothing and calls nothing.
func normalize(req orderapi.CheckoutRequest) (orderapi.CheckoutRequest, error) {
	var fields []kit.FieldError
	bad := func(field, msg string, v any) {
		fields = append(fields, kit.FieldError{Field: field, Message: msg, Value: v})
	}
	req.CartID = strings.TrimSpace(req.CartID)
	switch {
	case req.CartID == "" && len(req.Items) == 0:
		bad("items", "give either cart_id or items", nil)
	case req.CartID != "" && len(req.Items) > 0:
		bad("items", "give either cart_id or items, not both", nil)
	}
	if len(req.Items) > 0 {
		merged := make([]orderapi.Item, 0, len(req.Items))
		at := make(map[string]int, len(req.Items))
		for i, it := range req.Items {
			it.SKU = strings.TrimSpace(it.SKU)
			loc := fmt.Sprintf("items[%d]", i)
			if err := text.SKU(it.SKU); err != nil {
				bad(loc+".sku", err.Error(), it.SKU)
				continue
			}
			if it.Quantity < 1 || it.Quantity > MaxQuantity {
				bad(loc+".quantity", fmt.Sprintf("quantity must be 1 to %d", MaxQuantity), it.Quantity)
				continue
			}
			if j, ok := at[it.SKU]; ok {
				merged[j].Quantity += it.Quantity
				if merged[j].Quantity > MaxQuantity {
					bad(loc+".quantity", fmt.Sprintf("total quantity of %s above %d", it.SKU, MaxQuantity), merged[j].Quantity)
				}
				continue
			}
			at[it.SKU] = len(merged)
			merged = append(merged, it)
		}
		req.Items = merged
	}
	req.Email = strings.TrimSpace(req.Email)
	if err := text.Email(req.Email); err != nil {
		bad("email", err.Error(), req.Email)
	}
	// The address fields follow the platform's rules (text), the ones the
	// customer's address book in identity follows too; a billing address
	// the same as the shipping one.
	checkAddress := func(field string, a *orderapi.Address) {
		for _, f := range []struct {
			name  string
			v     *string
			check func(string) error
		}{
			{"name", &a.Name, text.Name},
			{"line1", &a.Line1, func(s string) error { return text.AddressLine(s, true) }},
			{"line2", &a.Line2, func(s string) error { return text.AddressLine(s, false) }},
			{"city", &a.City, text.City},
			{"region", &a.Region, text.Region},
			{"postal_code", &a.PostalCode, func(s string) error { return text.PostalCode(s, true) }},
		} {
			*f.v = strings.TrimSpace(*f.v)
			if err := f.check(*f.v); err != nil {
				bad(field+"."+f.name, err.Error(), *f.v)
			}
		}
		a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
		if err := text.Country(a.Country); err != nil {
			bad(field+".country", err.Error(), a.Country)
		}
	}
	checkAddress("shipping_address", &req.ShippingAddress)
	if req.BillingAddress != nil {
		checkAddress("billing_address", req.BillingAddress)
	}
	req.ShippingMethod = strings.TrimSpace(req.ShippingMethod)
	if req.ShippingMethod != "" {
		if err := text.Code(req.ShippingMethod); err != nil {
			bad("shipping_method", err.Error(), req.ShippingMethod)
		}
	}
	req.Coupon = strings.TrimSpace(req.Coupon)
	if req.Coupon != "" {
		if err := text.Coupon(req.Coupon); err != nil {
			bad("coupon", err.Error(), req.Coupon)
		}
	}
	if req.Currency != "" {
		if err := money.ValidCurrency(req.Currency); err != nil {
			bad("currency", "unknown ISO 4217 currency", req.Currency)
		}
	}
	// Whether the provider is offered here is the payment service's to say
	// (checkProvider); this is only its form.
	req.Payment.Provider = strings.TrimSpace(req.Payment.Provider)
	if req.Payment.Provider == "" || len(req.Payment.Provider) > 50 {
		bad("payment.provider", "a payment provider such as fake or stripe is required", req.Payment.Provider)
	}
	if req.Payment.Token == "" || len(req.Payment.Token) > 255 {
		bad("payment.token", "a payment token is required", nil)
	}
	if len(fields) > 0 {
		return req, &kit.ValidationError{Code: "validation_failed", Detail: "the checkout request is invalid", Fields: fields}
	}
	return req, nil
}

// requestHash fingerprints a normalized request and who made it: a key
// reused with another request is refused. The payment token is part of it:
// a retry is the same request only with the same card. So is the signed-in
// customer (none for a guest, leaving guests' hashes as they were): a
// replay answers with the order token, which must not reach another
// caller who learnt the key.
func requestHash(req orderapi.CheckoutRequest, customer string) string {
	b, _ := json.Marshal(req)
	if customer != "" {
		b = append(append(b, 0), customer...)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Checkout places an order for the tenant in ctx: it validates and prices
// the request, writes the order as pending, and drives the saga to
// confirmed (the answer carries the guest's token) or cancelled (the error
// says why). key is the client's Idempotency-Key: a retry with the same key
// and request answers with the same order, whatever happened to the first.
// A signed-in customer's order (a customer principal in ctx) is theirs:
// it carries their customer ID.
func (s *Service) Checkout(ctx context.Context, key string, req orderapi.CheckoutRequest) (orderapi.Order, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return orderapi.Order{}, err
	}
	if key == "" {
		return orderapi.Order{}, ErrIdempotencyKeyRequired
	}
	if req, err = normalize(req); err != nil {
		return orderapi.Order{}, err
	}
	customer := customerOf(ctx)
	hash := requestHash(req, customer)
	// The key is looked up only when the new order cannot be placed: a
	// first request (nearly all of them) reads nothing, and a retry finds
	// its order at the insert's unique key, or here when its cart is
	// checked out or the quote has changed since.
	orPrior := func(cause error) (orderapi.Order, error) {
		prior, err := s.store.byKey(ctx, tenant, key)
		switch {
		case err == nil:
			return s.replay(ctx, prior, hash)
		case errors.Is(err, ErrNotFound):
			return orderapi.Order{}, cause
		}
		return orderapi.Order{}, err
	}

	// Everything the saga would refuse as the request's fault is found
	// out before the order is written: the provider here, the items and
	// their prices (and the store's currency) by the quote below.
	if err := s.checkProvider(ctx, req.Payment.Provider); err != nil {
		return orPrior(err)
	}
	items, cartID, err := s.items(ctx, &req)
	if err != nil {
		return orPrior(err)
	}
	q, err := s.deps.Pricing.Quote(ctx, pricingapi.QuoteRequest{Items: items, Currency: req.Currency,
		Country: req.ShippingAddress.Country, Region: req.ShippingAddress.Region,
		ShippingMethod: req.ShippingMethod, Coupon: req.Coupon, Email: req.Email})
	if err != nil {
		return orPrior(upstream("quote", err))
	}
	if len(q.Lines) == 0 || q.Total.Amount < 0 || money.ValidCurrency(q.Currency) != nil {
		return orPrior(fmt.Errorf("%w: quote without lines, total or currency", ErrUnavailable))
	}
	if err := stockable(q.Lines); err != nil {
		return orPrior(err)
	}

	rec := newRecord(kit.NewID(), s.now(), q, req, cartID)
	rec.CustomerID = customer
	token, tokenHash := s.tokens.token(tenant, rec.ID)
	rec.tenant, rec.key, rec.requestHash, rec.tokenHash = tenant, key, hash, tokenHash
	if err := s.store.insert(ctx, rec); err != nil {
		if sqldb.IsUniqueViolation(err) {
			// An earlier or concurrent request with the same key
			// inserted first (the engine tells of the conflict only
			// once that order is committed, so the lookup finds it),
			// or another live order has this cart (orders_live_cart).
			// Without a cart only the key can conflict: should its
			// order not be found, it is still being written.
			cause := ErrCartCheckedOut
			if cartID == "" {
				cause = ErrInProgress
			}
			return orPrior(cause)
		}
		return orderapi.Order{}, err
	}
	s.log.DebugContext(ctx, "order placed", "tenant", tenant, "order_id", rec.ID)
	rec, err = s.drive(ctx, rec, req.Payment)
	if err != nil {
		return orderapi.Order{}, err
	}
	o := public(rec)
	o.Token = token
	return o, nil
}

// providersTTL is how long the payment service's list of providers is
// kept; a provider missing from a list older than providersRecheck is
// asked for again at once (one just configured).
const (
	providersTTL     = 30 * time.Second
	providersRecheck = 2 * time.Second
)

// providerList caches the payment service's providers.
type providerList struct {
	mu    sync.Mutex
	names []string
	at    time.Time
}

// checkProvider refuses (422 unknown_provider) a checkout naming a payment
// provider this deployment does not offer, before anything is written.
// Without an answer of the payment service, and nothing cached, the
// checkout cannot go on either: ErrUnavailable.
func (s *Service) checkProvider(ctx context.Context, name string) error {
	s.providers.mu.Lock()
	names, at := s.providers.names, s.providers.at
	s.providers.mu.Unlock()
	age := time.Since(at)
	if names == nil || age > providersTTL || (!slices.Contains(names, name) && age > providersRecheck) {
		p, err := s.deps.Payment.Providers(ctx)
		switch {
		case err == nil:
			names = p.Providers
			if names == nil {
				names = []string{}
			}
			s.providers.mu.Lock()
			s.providers.names, s.providers.at = names, time.Now()
			s.providers.mu.Unlock()
		case names == nil:
			return fmt.Errorf("%w: list payment providers: %w", ErrUnavailable, err)
		default:
			s.log.WarnContext(ctx, "payment providers not refreshed; using the last list", "err", err)
		}
	}
	if slices.Contains(names, name) {
		return nil
	}
	offered := "none"
	if len(names) > 0 {
		offered = strings.Join(names, ", ")
	}
	return &kit.ValidationError{Code: "unknown_provider", Detail: fmt.Sprintf("the payment provider %s is not available in this store (available: %s)", name, offered),
		Fields: []kit.FieldError{{Field: "payment.provider", Message: "not available in this store", Value: name}}}
}

// inventorySKU is inventory's rule for a SKU, read from its contract's
// schema (inventoryapi.Line), so that checkout holds a SKU to exactly what
// the reservation would: a product priced under a SKU inventory refuses
// is refused before its order is written, not after.
var inventorySKU = func() func(string) bool {
	f, _ := reflect.TypeFor[invLine]().FieldByName("SKU")
	re := regexp.MustCompile(cmp.Or(f.Tag.Get("pattern"), ".*"))
	minLen, _ := strconv.Atoi(f.Tag.Get("minLength"))
	maxLen, _ := strconv.Atoi(f.Tag.Get("maxLength"))
	return func(sku string) bool {
		n := utf8.RuneCountInString(sku)
		return n >= minLen && (maxLen == 0 || n <= maxLen) && re.MatchString(sku)
	}
}()

// stockable refuses (422 sku_not_stockable) quoted lines whose SKU the
// inventory service would refuse to reserve.
func stockable(lines []pricingapi.QuoteLine) error {
	for _, l := range lines {
		if !inventorySKU(l.SKU) {
			return &kit.ValidationError{Code: "sku_not_stockable", Detail: "the product " + strconv.Quote(l.SKU) + " cannot be stocked, so it cannot be ordered",
				Fields: []kit.FieldError{{Field: "items", Message: "SKU not stockable", Value: l.SKU}}}
		}
	}
	return nil
}

// items resolves what is bought: the request's items, or the cart's lines
// (the cart's coupon and shipping method apply unless the request names
// its own).
func (s *Service) items(ctx context.Context, req *orderapi.CheckoutRequest) ([]pricingapi.Item, string, error) {
	if req.CartID == "" {
		out := make([]pricingapi.Item, len(req.Items))
		for i, it := range req.Items {
			out[i] = pricingapi.Item{SKU: it.SKU, Quantity: it.Quantity}
		}
		return out, "", nil
	}
	// Lines only: the checkout quotes them itself, a quote of the cart's
	// own would be thrown away.
	c, err := s.deps.Cart.Lines(ctx, req.CartID)
	if errors.Is(err, cartapi.ErrNotFound) {
		return nil, "", &kit.ValidationError{Code: "cart_not_found", Detail: "no such cart", Fields: []kit.FieldError{{Field: "cart_id", Message: "no such cart", Value: req.CartID}}}
	}
	if err != nil {
		return nil, "", upstream("get cart", err)
	}
	if c.Status == cartapi.StatusCheckedOut || c.OrderID != "" {
		return nil, "", ErrCartCheckedOut
	}
	if len(c.Lines) == 0 {
		return nil, "", &kit.ValidationError{Code: "cart_empty", Detail: "the cart has no lines", Fields: []kit.FieldError{{Field: "cart_id", Message: "empty cart", Value: req.CartID}}}
	}
	out := make([]pricingapi.Item, 0, len(c.Lines))
	for _, l := range c.Lines {
		if !l.Available {
			return nil, "", &kit.ValidationError{Code: "sku_unavailable", Detail: "the cart has a product no longer sold: " + l.SKU,
				Fields: []kit.FieldError{{Field: "cart_id", Message: "unavailable product in cart", Value: l.SKU}}}
		}
		out = append(out, pricingapi.Item{SKU: l.SKU, Quantity: l.Quantity})
	}
	if req.Coupon == "" {
		req.Coupon = c.Coupon
	}
	if req.ShippingMethod == "" {
		req.ShippingMethod = c.ShippingMethod
	}
	return out, c.ID, nil
}

// upstream classifies another service's failure: a refusal of the request
// itself (apiclient.Refused) is the request's fault and is passed on as it
// came (*kit.UpstreamError: pricing's unknown_sku, coupon_expired,
// currency_mismatch…); anything else means the service is unavailable.
func upstream(doing string, err error) error {
	var ue *kit.UpstreamError
	if up := kit.Upstream(err); errors.As(up, &ue) {
		return up
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, doing, err)
}

// newRecord is a pending order priced by q.
func newRecord(id string, now time.Time, q pricingapi.Quote, req orderapi.CheckoutRequest, cartID string) record {
	at := now.UTC().Truncate(time.Microsecond)
	lines := make([]orderapi.Line, len(q.Lines))
	for i, l := range q.Lines {
		lines[i] = orderapi.Line{SKU: l.SKU, ProductID: l.ProductID, Title: l.Title, Quantity: l.Quantity,
			UnitPrice: l.UnitPrice, Subtotal: l.Subtotal, Discount: l.Discount, Tax: l.Tax, Total: l.Total, TaxRateBP: l.TaxRateBP}
	}
	zero := money.Money{Currency: q.Currency}
	return record{Order: orderapi.Order{
		ID: id, Status: orderapi.StatusPending, Email: req.Email, Currency: q.Currency, Lines: lines,
		Subtotal: q.Subtotal, Discount: q.Discount, Shipping: q.Shipping, ShippingMethod: q.ShippingMethod,
		Tax: q.Tax, Total: q.Total, TaxInclusive: q.TaxInclusive, Captured: zero, Refunded: zero,
		TotalDue: q.Total, Coupon: q.Coupon, ShippingAddress: req.ShippingAddress, BillingAddress: req.BillingAddress, CartID: cartID,
		Shipments: []orderapi.Shipment{}, Returns: []orderapi.Return{},
		Timeline:  []orderapi.TimelineEntry{{At: at, Status: string(orderapi.StatusPending), Note: "order placed"}},
		CreatedAt: at, UpdatedAt: at,
	}, version: 1}
}

// replay answers a checkout whose key already has an order: the same
// answer as the first request's, once the saga is over.
func (s *Service) replay(ctx context.Context, prior record, hash string) (orderapi.Order, error) {
	if prior.requestHash != hash {
		return orderapi.Order{}, ErrIdempotencyKeyReused
	}
	rec, err := s.await(ctx, prior)
	if err != nil {
		return orderapi.Order{}, err
	}
	o, err := answer(rec)
	if err != nil {
		return o, err
	}
	o.Token, _ = s.tokens.token(rec.tenant, rec.ID)
	return o, nil
}

// answer is the checkout answer for a finished saga.
func answer(rec record) (orderapi.Order, error) {
	if rec.Status == orderapi.StatusCancelled {
		if err := cancelError(rec.CancelReason, rec.cancelDetail); err != nil {
			return orderapi.Order{}, err
		}
	}
	return public(rec), nil
}

// cancelError is the checkout failure a cancel reason stands for; nil for
// a cancellation after the checkout succeeded (by the customer or staff).
func cancelError(reason, detail string) error {
	switch reason {
	case orderapi.ReasonOutOfStock:
		return &OutOfStockError{SKU: detail}
	case orderapi.ReasonPaymentDeclined:
		return &DeclinedError{Reason: detail}
	case orderapi.ReasonPaymentTimeout:
		return ErrPaymentTimeout
	case orderapi.ReasonCouponExhausted:
		return ErrCouponExhausted
	case orderapi.ReasonReservationExpired:
		return ErrReservationExpired
	case orderapi.ReasonInterrupted:
		return ErrInterrupted
	}
	return nil
}
