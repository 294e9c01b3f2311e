package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/test/harness"
)

// The tenant isolation suite: every operation of the API is called with
// store A's credentials, on A's host, against store B's resources, and
// must answer 404 as if they did not exist; every list of A must be free of
// B's identifiers; and B's resources must read the same afterwards. The
// operations come from /openapi.json, so an endpoint added without a
// mapping here fails the suite until it is added.

// isoWebhookSecret signs the fake payment provider's webhooks in this test.
const isoWebhookSecret = "whsec_isolation_suite"

// isoStore is a store of the suite with the resources created in it.
type isoStore struct {
	store
	ownerID string

	customerToken, customerID, customerEmail, addressID string
	staffAccountID, staffEmail, invitationID            string

	sku, productID, productSlug, categoryID string
	discountID, coupon, taxRateID           string
	shippingID, shippingCode                string
	cartID, cartLineID                      string
	orderID, orderToken, orderEmail         string
	shipmentID, returnID, reviewID          string
	invoiceID                               string
	webhookID, deliveryID                   string
	emailID                                 string
	paymentID, paymentRef                   string
	employeeID, shiftID, announcementID     string
	domain, apiKeyID, apiKey, secretKey     string
	mediaHash                               string
	exportID                                string
}

// isoClient makes the calls of one test and fails it on unexpected answers.
type isoClient struct {
	t *testing.T
	p *harness.Proc
}

// must calls and fails the test unless the status is one of want.
func (c isoClient) must(method, path string, body any, hdr map[string]string, want ...int) harness.Response {
	c.t.Helper()
	r := c.p.Call(method, path, body, hdr)
	if !slices.Contains(want, r.Status) {
		c.t.Fatalf("%s %s: %d %s, want %v", method, path, r.Status, r.Body, want)
	}
	return r
}

// field decodes r's body and returns the string at the dotted path (array
// indexes as numbers), failing the test when it is missing or empty.
func (c isoClient) field(r harness.Response, path string) string {
	c.t.Helper()
	var v any
	r.JSON(c.t, &v)
	for part := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i >= len(x) {
				c.t.Fatalf("no %s in %s", path, r.Body)
			}
			v = x[i]
		default:
			c.t.Fatalf("no %s in %s", path, r.Body)
		}
	}
	s, ok := v.(string)
	if !ok || s == "" {
		c.t.Fatalf("no string %s in %s", path, r.Body)
	}
	return s
}

// sku creates an active product with one variant at €12.90 in st, with
// stock, and waits until pricing and carts of st know it.
func (c isoClient) sku(st *isoStore, categoryID string, stock int64) (sku, id, slug string) {
	c.t.Helper()
	sku = "ISO-" + randomHex(5)
	body := map[string]any{
		"title": "Isolation " + sku, "status": "active",
		"variants": []map[string]any{{"sku": sku, "price": map[string]any{"amount": 1290, "currency": "EUR"}}},
	}
	if categoryID != "" {
		body["category_id"] = categoryID
	}
	r := c.must("POST", "/api/v1/admin/products", body, st.as(st.owner), http.StatusCreated)
	id, slug = c.field(r, "id"), c.field(r, "slug")
	c.must("POST", "/api/v1/admin/inventory/"+sku+"/adjustments", map[string]any{"delta": stock, "reason": "isolation stock"}, st.as(st.owner), http.StatusOK, http.StatusCreated)
	items := []map[string]any{{"sku": sku, "quantity": 1}}
	deadline := time.Now().Add(15 * time.Second)
	// A new store has no shipping method yet: quote without shipping.
	for _, probe := range []struct {
		path string
		body map[string]any
	}{
		{"/api/v1/quote", map[string]any{"items": items, "no_shipping": true}},
		{"/api/v1/carts", map[string]any{"items": items}},
	} {
		for {
			r = c.p.Call("POST", probe.path, probe.body, st.as(""))
			if r.Status == http.StatusOK || r.Status == http.StatusCreated {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("%s never learnt of %s in %s: %d %s", probe.path, sku, st.id, r.Status, r.Body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return sku, id, slug
}

// customer registers a customer in st.
func (c isoClient) customer(st *isoStore) {
	c.t.Helper()
	st.customerEmail = "cust-" + strings.ToLower(randomHex(4)) + "@example.com"
	c.must("POST", "/api/v1/auth/register", map[string]any{"email": st.customerEmail, "password": "correct horse battery staple", "name": "Iso Customer"}, st.as(""), http.StatusAccepted)
	r := c.must("POST", "/api/v1/auth/login", map[string]any{"email": st.customerEmail, "password": "correct horse battery staple"}, st.as(""), http.StatusOK)
	st.customerToken = c.field(r, "access_token")
	r = c.must("GET", "/api/v1/me", nil, st.as(st.customerToken), http.StatusOK)
	st.customerID = c.field(r, "id")
	r = c.must("POST", "/api/v1/me/addresses", map[string]any{"name": "Iso Customer", "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}, st.as(st.customerToken), http.StatusCreated, http.StatusOK)
	st.addressID = c.field(r, "id")
}

// isoSignup signs up a store and reads its owner's account ID.
func isoSignup(t *testing.T, p *harness.Proc, subdomain string) *isoStore {
	t.Helper()
	st := &isoStore{store: signup(t, p, subdomain)}
	parts := strings.Split(st.owner, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Sub string `json:"sub"`
	}
	_ = json.Unmarshal(raw, &claims)
	if claims.Sub == "" {
		t.Fatalf("owner token of %s without sub", subdomain)
	}
	st.ownerID = claims.Sub
	return st
}

// populate creates one of every kind of resource in st, through the API.
func (c isoClient) populate(st *isoStore) {
	c.t.Helper()
	own := st.as(st.owner)
	r := c.must("POST", "/api/v1/admin/categories", map[string]any{"name": "Isolation " + randomHex(4)}, own, http.StatusCreated)
	st.categoryID = c.field(r, "id")
	st.sku, st.productID, st.productSlug = c.sku(st, st.categoryID, 20)
	// A picture of the product, of pixels of B's own.
	pic := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	copy(pic.Pix, randomHex(32)) // 64 random hex digits: 4 × 4 pixels of 4 bytes
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, pic); err != nil {
		c.t.Fatal(err)
	}
	upload, ct, err := mediaapi.EncodeUpload(mediaapi.Upload{Kind: mediaapi.KindProductImage, ProductID: st.productID,
		FileName: "isolation.png", Content: &pngBuf})
	if err != nil {
		c.t.Fatal(err)
	}
	r = c.must("POST", "/api/v1/admin/media", string(upload), st.as(st.owner, "Content-Type", ct), http.StatusCreated)
	st.mediaHash = c.field(r, "hash")
	r = c.must("POST", "/api/v1/admin/exports", map[string]any{"kind": "products", "rows": 0, "masked": false, "via": "cli", "in_progress": true}, own, http.StatusCreated)
	st.exportID = c.field(r, "id")

	r = c.must("POST", "/api/v1/admin/pricing/tax-rates", map[string]any{"country": "DE", "rate_bp": 1900, "name": "Isolation VAT"}, own, http.StatusCreated)
	st.taxRateID = c.field(r, "id")
	st.shippingCode = "iso-" + strings.ToLower(randomHex(4))
	r = c.must("POST", "/api/v1/admin/pricing/shipping-methods", map[string]any{
		"code": st.shippingCode, "name": "Isolation post", "price": map[string]any{"amount": 490, "currency": "EUR"}, "countries": []string{"DE"},
	}, own, http.StatusCreated)
	st.shippingID = c.field(r, "id")
	st.coupon = "ISO" + randomHex(4)
	r = c.must("POST", "/api/v1/admin/pricing/discounts", map[string]any{
		"name": "Isolation 10%", "kind": "percentage", "percent_bp": 1000, "code": st.coupon, "scope": "order",
	}, own, http.StatusCreated)
	st.discountID = c.field(r, "id")

	r = c.must("POST", "/api/v1/carts", map[string]any{"items": []map[string]any{{"sku": st.sku, "quantity": 1}}}, st.as(""), http.StatusCreated)
	st.cartID, st.cartLineID = c.field(r, "id"), c.field(r, "lines.0.id")

	st.orderEmail = "order-" + strings.ToLower(randomHex(4)) + "@example.com"
	body := checkoutBody(st.orderEmail, "tok_visa", map[string]int{st.sku: 2})
	body["shipping_method"] = st.shippingCode
	body["coupon"] = st.coupon // a redemption, counted in the discount's "used"
	r = c.must("POST", "/api/v1/checkout", body, st.as("", "Idempotency-Key", "iso-"+randomHex(6)), http.StatusCreated)
	st.orderID, st.orderToken = c.field(r, "id"), c.field(r, "token")
	r = c.must("POST", "/api/v1/admin/orders/"+st.orderID+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "00340434161234567890"}, own, http.StatusCreated, http.StatusOK)
	st.shipmentID = c.field(r, "shipments.0.id")
	c.must("POST", "/api/v1/admin/orders/"+st.orderID+"/shipments/"+st.shipmentID+"/events", map[string]any{"status": "delivered", "location": "Berlin"}, own, http.StatusOK)
	r = c.must("POST", "/api/v1/orders/"+st.orderID+"/returns?token="+st.orderToken, map[string]any{"lines": []map[string]any{{"sku": st.sku, "quantity": 1}}, "reason": "isolation"}, st.as(""), http.StatusCreated, http.StatusOK)
	st.returnID = c.field(r, "returns.0.id")
	// The review service learns of the delivery from the order's events.
	guest := st.as("", "X-Order-Token", st.orderToken)
	for deadline := time.Now().Add(15 * time.Second); ; {
		r = c.must("GET", "/api/v1/reviews/orders/"+st.orderID, nil, guest, http.StatusOK)
		if strings.Contains(string(r.Body), `"reviewable":["`+st.sku+`"]`) {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("B's delivered line never became reviewable: %s", r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r = c.must("POST", "/api/v1/reviews", map[string]any{"order_id": st.orderID, "sku": st.sku, "rating": 4, "title": "Isolation"}, guest, http.StatusCreated)
	st.reviewID = c.field(r, "id")
	// The invoice service issues the order's invoice from its events.
	for deadline := time.Now().Add(15 * time.Second); ; {
		r = c.must("GET", "/api/v1/invoices/orders/"+st.orderID, nil, guest, http.StatusOK)
		if strings.Contains(string(r.Body), `"kind":"invoice"`) {
			st.invoiceID = c.field(r, "items.0.id")
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("B's order was never invoiced: %s", r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A webhook subscription and a delivery of it (to a host that does not
	// answer here: the delivery stays, retried).
	r = c.must("POST", "/api/v1/admin/webhooks/subscriptions", map[string]any{"url": "https://hooks.example.com/isolation",
		"event_types": []string{"catalog.product_updated.v1"}}, own, http.StatusCreated)
	st.webhookID = c.field(r, "id")
	c.must("PATCH", "/api/v1/admin/products/"+st.productID, map[string]any{"description": "Watched by a webhook."}, own, http.StatusOK)
	for deadline := time.Now().Add(30 * time.Second); st.deliveryID == ""; {
		r = c.must("GET", "/api/v1/admin/webhooks/deliveries", nil, own, http.StatusOK)
		var ds struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		r.JSON(c.t, &ds)
		if len(ds.Items) > 0 {
			st.deliveryID = ds.Items[0].ID
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("B's product change made no webhook delivery: %s", r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The order's confirmation email (kept: this server has no SMTP).
	for deadline := time.Now().Add(30 * time.Second); st.emailID == ""; {
		r = c.must("GET", "/api/v1/admin/emails", nil, own, http.StatusOK)
		var es struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		r.JSON(c.t, &es)
		if len(es.Items) > 0 {
			st.emailID = es.Items[0].ID
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("B's order made no email: %s", r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r = c.must("GET", "/api/v1/admin/payments/"+st.orderID, nil, own, http.StatusOK)
	st.paymentID, st.paymentRef = c.field(r, "id"), c.field(r, "provider_ref")
	// The order redeemed the coupon: a release by A would show here.
	var used struct {
		Used int64 `json:"used"`
	}
	c.must("GET", "/api/v1/admin/pricing/discounts/"+st.discountID, nil, own, http.StatusOK).JSON(c.t, &used)
	if used.Used != 1 {
		c.t.Fatalf("B's coupon used %d times after its checkout, want 1", used.Used)
	}

	c.customer(st)

	st.staffEmail = "staff-" + strings.ToLower(randomHex(4)) + "@example.com"
	r = c.must("POST", "/api/v1/admin/staff/invitations", map[string]any{"email": st.staffEmail, "role": "staff"}, own, http.StatusCreated, http.StatusOK)
	st.invitationID = c.field(r, "id")
	r = c.must("POST", "/api/v1/staff/invitations/accept", map[string]any{"token": c.field(r, "token"), "password": "correct horse battery staple", "name": "Iso Staff"}, st.as(""), http.StatusCreated, http.StatusOK)
	st.staffAccountID = c.field(r, "staff.id")
	r = c.must("POST", "/api/v1/admin/staff/employees", map[string]any{"name": "Iso Staff", "role": "staff", "account_id": st.staffAccountID, "email": st.staffEmail}, own, http.StatusCreated)
	st.employeeID = c.field(r, "id")
	start := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Hour)
	r = c.must("POST", "/api/v1/admin/staff/shifts", map[string]any{"employee_id": st.employeeID, "starts_at": start, "ends_at": start.Add(8 * time.Hour)}, own, http.StatusCreated)
	st.shiftID = c.field(r, "id")
	r = c.must("POST", "/api/v1/admin/staff/announcements", map[string]any{"title": "Isolation", "body": "For B's eyes only", "audience": "all"}, own, http.StatusCreated)
	st.announcementID = c.field(r, "id")

	st.domain = "shop-" + strings.ToLower(randomHex(4)) + ".example.com"
	c.must("POST", "/api/v1/admin/store/domains", map[string]any{"host": st.domain}, own, http.StatusCreated, http.StatusOK)
	r = c.must("POST", "/api/v1/admin/store/api-keys", map[string]any{"name": "isolation", "kind": "secret"}, own, http.StatusCreated)
	st.apiKeyID, st.apiKey = c.field(r, "id"), c.field(r, "key")
	// Dead letters: a healthy store has none to point at.
}

// isoOp is one documented operation.
type isoOp struct {
	method, path, id string
	public, noKeys   bool
	roles            []string
	hasBody          bool
}

func readOps(t *testing.T, p *harness.Proc) []isoOp {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Security    []map[string][]string `json:"security"`
			Roles       []string              `json:"x-mercato-roles"`
			NoAPIKeys   bool                  `json:"x-mercato-no-api-keys"`
			RequestBody json.RawMessage       `json:"requestBody"`
		} `json:"paths"`
	}
	r := p.Call("GET", "/openapi.json", nil, nil)
	r.JSON(t, &doc)
	var ops []isoOp
	for path, byMethod := range doc.Paths {
		for method, op := range byMethod {
			roles := op.Roles
			if roles == nil {
				roles = []string{"owner", "manager", "staff"}
			}
			ops = append(ops, isoOp{
				method: strings.ToUpper(method), path: path, id: op.OperationID,
				public: !guarded(op.Security), noKeys: op.NoAPIKeys, roles: roles, hasBody: len(op.RequestBody) > 0,
			})
		}
	}
	// Reads first, deletions last: a leaking write must not hide a leaking
	// read by removing what it reads.
	rank := map[string]int{"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
	sort.Slice(ops, func(i, j int) bool {
		if rank[ops[i].method] != rank[ops[j].method] {
			return rank[ops[i].method] < rank[ops[j].method]
		}
		return ops[i].path+ops[i].method < ops[j].path+ops[j].method
	})
	return ops
}

// targets maps every path template with parameters to the paths naming
// b's resources (several when a resource has several names).
func targets(b *isoStore) map[string][]string {
	order := "/api/v1/admin/orders/" + b.orderID
	return map[string][]string{
		"/api/v1/admin/categories/{id}":                                 {"/api/v1/admin/categories/" + b.categoryID},
		"/api/v1/admin/customers/{id}":                                  {"/api/v1/admin/customers/" + b.customerID},
		"/api/v1/admin/inventory/orders/{order_id}/reservation":         {"/api/v1/admin/inventory/orders/" + b.orderID + "/reservation"},
		"/api/v1/admin/inventory/orders/{order_id}/reservation/commit":  {"/api/v1/admin/inventory/orders/" + b.orderID + "/reservation/commit"},
		"/api/v1/admin/inventory/orders/{order_id}/reservation/release": {"/api/v1/admin/inventory/orders/" + b.orderID + "/reservation/release"},
		"/api/v1/admin/inventory/{sku}":                                 {"/api/v1/admin/inventory/" + b.sku},
		"/api/v1/admin/inventory/{sku}/adjustments":                     {"/api/v1/admin/inventory/" + b.sku + "/adjustments"},
		"/api/v1/admin/inventory/{sku}/threshold":                       {"/api/v1/admin/inventory/" + b.sku + "/threshold"},
		"/api/v1/admin/media/{hash}":                                    {"/api/v1/admin/media/" + b.mediaHash},
		"/api/v1/admin/exports/{id}/finish":                             {"/api/v1/admin/exports/" + b.exportID + "/finish"},
		"/api/v1/admin/orders/{id}":                                     {order},
		"/api/v1/admin/orders/{id}/cancel":                              {order + "/cancel"},
		"/api/v1/admin/orders/{id}/refunds":                             {order + "/refunds"},
		"/api/v1/admin/orders/{id}/returns/{rid}/receive":               {order + "/returns/" + b.returnID + "/receive"},
		"/api/v1/admin/orders/{id}/returns/{rid}/reject":                {order + "/returns/" + b.returnID + "/reject"},
		"/api/v1/admin/orders/{id}/shipments":                           {order + "/shipments"},
		"/api/v1/admin/orders/{id}/shipments/{sid}/events":              {order + "/shipments/" + b.shipmentID + "/events"},
		"/api/v1/admin/payments/{order_id}":                             {"/api/v1/admin/payments/" + b.orderID},
		"/api/v1/admin/payments/{order_id}/capture":                     {"/api/v1/admin/payments/" + b.orderID + "/capture"},
		"/api/v1/admin/payments/{order_id}/refunds":                     {"/api/v1/admin/payments/" + b.orderID + "/refunds"},
		"/api/v1/admin/payments/{order_id}/void":                        {"/api/v1/admin/payments/" + b.orderID + "/void"},
		"/api/v1/admin/pricing/discounts/{id}":                          {"/api/v1/admin/pricing/discounts/" + b.discountID},
		"/api/v1/admin/pricing/redemptions/{order_id}/release":          {"/api/v1/admin/pricing/redemptions/" + b.orderID + "/release"},
		"/api/v1/admin/pricing/shipping-methods/{id}":                   {"/api/v1/admin/pricing/shipping-methods/" + b.shippingID},
		"/api/v1/admin/pricing/tax-rates/{id}":                          {"/api/v1/admin/pricing/tax-rates/" + b.taxRateID},
		"/api/v1/admin/products/{id}":                                   {"/api/v1/admin/products/" + b.productID},
		"/api/v1/admin/staff/announcements/{id}/receipts":               {"/api/v1/admin/staff/announcements/" + b.announcementID + "/receipts"},
		"/api/v1/admin/staff/employees/{id}":                            {"/api/v1/admin/staff/employees/" + b.employeeID},
		"/api/v1/admin/staff/employees/{id}/deactivate":                 {"/api/v1/admin/staff/employees/" + b.employeeID + "/deactivate"},
		"/api/v1/admin/staff/shifts/{id}":                               {"/api/v1/admin/staff/shifts/" + b.shiftID},
		"/api/v1/admin/staff/accounts/{id}":                             {"/api/v1/admin/staff/accounts/" + b.staffAccountID, "/api/v1/admin/staff/accounts/" + b.ownerID},
		"/api/v1/admin/staff/{id}":                                      {"/api/v1/admin/staff/" + b.staffAccountID, "/api/v1/admin/staff/" + b.ownerID},
		"/api/v1/admin/staff/accounts/{id}/deactivate":                  {"/api/v1/admin/staff/accounts/" + b.staffAccountID + "/deactivate", "/api/v1/admin/staff/accounts/" + b.ownerID + "/deactivate"},
		"/api/v1/admin/store/api-keys/{id}":                             {"/api/v1/admin/store/api-keys/" + b.apiKeyID},
		"/api/v1/admin/store/domains/{host}":                            {"/api/v1/admin/store/domains/" + b.domain, "/api/v1/admin/store/domains/" + b.host},
		"/api/v1/carts/{id}":                                            {"/api/v1/carts/" + b.cartID},
		"/api/v1/carts/{id}/items":                                      {"/api/v1/carts/" + b.cartID + "/items"},
		"/api/v1/carts/{id}/items/{line}":                               {"/api/v1/carts/" + b.cartID + "/items/" + b.cartLineID},
		"/api/v1/me/addresses/{id}":                                     {"/api/v1/me/addresses/" + b.addressID},
		"/api/v1/orders/{id}":                                           {"/api/v1/orders/" + b.orderID + "?token=" + b.orderToken, "/api/v1/orders/" + b.orderID},
		"/api/v1/orders/{id}/cancel":                                    {"/api/v1/orders/" + b.orderID + "/cancel?token=" + b.orderToken, "/api/v1/orders/" + b.orderID + "/cancel"},
		"/api/v1/orders/{id}/returns":                                   {"/api/v1/orders/" + b.orderID + "/returns?token=" + b.orderToken, "/api/v1/orders/" + b.orderID + "/returns"},
		"/api/v1/reviews/{id}":                                          {"/api/v1/reviews/" + b.reviewID + "?token=" + b.orderToken, "/api/v1/reviews/" + b.reviewID},
		"/api/v1/reviews/orders/{order_id}":                             {"/api/v1/reviews/orders/" + b.orderID + "?token=" + b.orderToken, "/api/v1/reviews/orders/" + b.orderID},
		"/api/v1/admin/reviews/{id}":                                    {"/api/v1/admin/reviews/" + b.reviewID},
		"/api/v1/invoices/orders/{order_id}":                            {"/api/v1/invoices/orders/" + b.orderID + "?token=" + b.orderToken, "/api/v1/invoices/orders/" + b.orderID},
		"/api/v1/invoices/orders/{order_id}/{id}/pdf":                   {"/api/v1/invoices/orders/" + b.orderID + "/" + b.invoiceID + "/pdf?token=" + b.orderToken},
		"/api/v1/invoices/orders/{order_id}/{id}/xml":                   {"/api/v1/invoices/orders/" + b.orderID + "/" + b.invoiceID + "/xml?token=" + b.orderToken},
		"/api/v1/admin/invoices/{id}":                                   {"/api/v1/admin/invoices/" + b.invoiceID},
		"/api/v1/admin/invoices/{id}/pdf":                               {"/api/v1/admin/invoices/" + b.invoiceID + "/pdf"},
		"/api/v1/admin/invoices/{id}/xml":                               {"/api/v1/admin/invoices/" + b.invoiceID + "/xml"},
		"/api/v1/admin/invoices/{id}/resend":                            {"/api/v1/admin/invoices/" + b.invoiceID + "/resend"},
		"/api/v1/admin/reviews/{id}/approve":                            {"/api/v1/admin/reviews/" + b.reviewID + "/approve"},
		"/api/v1/admin/reviews/{id}/reject":                             {"/api/v1/admin/reviews/" + b.reviewID + "/reject"},
		"/api/v1/admin/reviews/{id}/hide":                               {"/api/v1/admin/reviews/" + b.reviewID + "/hide"},
		"/api/v1/admin/reviews/{id}/reply":                              {"/api/v1/admin/reviews/" + b.reviewID + "/reply"},
		"/api/v1/admin/webhooks/subscriptions/{id}":                     {"/api/v1/admin/webhooks/subscriptions/" + b.webhookID},
		"/api/v1/admin/webhooks/deliveries/{id}":                        {"/api/v1/admin/webhooks/deliveries/" + b.deliveryID},
		"/api/v1/admin/webhooks/deliveries/{id}/replay":                 {"/api/v1/admin/webhooks/deliveries/" + b.deliveryID + "/replay"},
		"/api/v1/admin/emails/{id}":                                     {"/api/v1/admin/emails/" + b.emailID},
		"/api/v1/admin/emails/{id}/resend":                              {"/api/v1/admin/emails/" + b.emailID + "/resend"},
		"/api/v1/products/{id_or_slug}":                                 {"/api/v1/products/" + b.productID, "/api/v1/products/" + b.productSlug},
		"/api/v1/staff/announcements/{id}/read":                         {"/api/v1/staff/announcements/" + b.announcementID + "/read"},
		// Not a store's resource: the provider's name. The webhook answers
		// 2xx for events about payments it does not have (a provider must
		// not retry them); isolation there means B's payment is untouched,
		// which the snapshot of B checks.
		"/api/v1/payments/webhooks/{provider}": {"/api/v1/payments/webhooks/fake"},
	}
}

// bodyFor is a valid body for op, so that validation does not answer
// before the lookup; a referenced SKU is A's own.
func bodyFor(op isoOp, a *isoStore) any {
	eur := func(n int64) map[string]any { return map[string]any{"amount": n, "currency": "EUR"} }
	switch op.method + " " + op.path {
	case "PATCH /api/v1/admin/categories/{id}":
		return map[string]any{"name": "Renamed"}
	case "POST /api/v1/admin/inventory/orders/{order_id}/reservation/release":
		return map[string]any{"reason": "isolation"}
	case "POST /api/v1/admin/inventory/{sku}/adjustments":
		return map[string]any{"delta": 1, "reason": "isolation"}
	case "PUT /api/v1/admin/inventory/{sku}/threshold":
		return map[string]any{"threshold": 1}
	case "POST /api/v1/admin/orders/{id}/refunds":
		return map[string]any{"amount": eur(1), "key": "iso-refund", "reason": "isolation"}
	case "POST /api/v1/admin/orders/{id}/returns/{rid}/receive":
		return map[string]any{"restock": []string{}}
	case "POST /api/v1/admin/orders/{id}/shipments":
		return map[string]any{"carrier": "DHL", "tracking_number": "00340434169999999999"}
	case "POST /api/v1/admin/orders/{id}/shipments/{sid}/events":
		return map[string]any{"status": "in_transit", "location": "Hamburg"}
	case "POST /api/v1/admin/payments/{order_id}/capture":
		return map[string]any{"amount": eur(1), "key": "iso-capture"}
	case "POST /api/v1/admin/payments/{order_id}/refunds":
		return map[string]any{"amount": eur(1), "key": "iso-refund", "reason": "isolation"}
	case "PATCH /api/v1/admin/pricing/discounts/{id}":
		return map[string]any{"name": "Renamed"}
	case "PUT /api/v1/admin/pricing/shipping-methods/{id}":
		return map[string]any{"code": "iso-renamed", "name": "Renamed", "price": eur(1)}
	case "PUT /api/v1/admin/pricing/tax-rates/{id}":
		return map[string]any{"country": "DE", "rate_bp": 700, "name": "Renamed"}
	case "PATCH /api/v1/admin/products/{id}":
		return map[string]any{"title": "Renamed"}
	case "POST /api/v1/admin/exports/{id}/finish":
		return map[string]any{"rows": 1}
	case "PATCH /api/v1/admin/staff/employees/{id}":
		return map[string]any{"name": "Renamed"}
	case "PATCH /api/v1/admin/staff/shifts/{id}":
		return map[string]any{"note": "renamed"}
	case "PATCH /api/v1/admin/staff/accounts/{id}":
		return map[string]any{"role": "support"}
	case "PATCH /api/v1/carts/{id}":
		return map[string]any{"country": "DE"}
	case "POST /api/v1/carts/{id}/items":
		return map[string]any{"sku": a.sku, "quantity": 1}
	case "PATCH /api/v1/carts/{id}/items/{line}":
		return map[string]any{"quantity": 3}
	case "PATCH /api/v1/me/addresses/{id}":
		return map[string]any{"name": "Renamed"}
	case "POST /api/v1/orders/{id}/returns":
		return map[string]any{"lines": []map[string]any{{"sku": a.sku, "quantity": 1}}, "reason": "isolation"}
	case "POST /api/v1/admin/reviews/{id}/reject", "POST /api/v1/admin/reviews/{id}/hide":
		return map[string]any{"reason": "isolation"}
	case "PUT /api/v1/admin/reviews/{id}/reply":
		return map[string]any{"body": "isolation"}
	case "PATCH /api/v1/reviews/{id}":
		return map[string]any{"rating": 1}
	case "PATCH /api/v1/admin/webhooks/subscriptions/{id}":
		return map[string]any{"description": "Renamed"}
	}
	if op.hasBody {
		return map[string]any{}
	}
	return nil
}

// callersFor names the credentials of st an operation is tried with:
// guarded operations as the owner (and a secret key where keys may call;
// none for the operations only the deployment's own token may call),
// the customer's own operations as a customer, the storefront's as
// anybody, customer and owner.
func callersFor(op isoOp, st *isoStore) map[string]string {
	switch {
	case !op.public && len(op.roles) == 0:
		return nil
	case !op.public:
		c := map[string]string{"owner": st.owner}
		// A key is no staff member: /api/v1/staff/ refuses it before
		// any lookup.
		if !op.noKeys && slices.Contains(op.roles, "manager") && !strings.HasPrefix(op.path, "/api/v1/staff/") {
			c["secret key"] = st.secretKey
		}
		return c
	case strings.HasPrefix(op.path, "/api/v1/me"):
		return map[string]string{"customer": st.customerToken}
	default:
		return map[string]string{"anonymous": "", "customer": st.customerToken, "owner": st.owner}
	}
}

// bCallerFor is how b itself reads a resource of its own (the control).
func bCallerFor(op isoOp, b *isoStore) string {
	switch {
	case !op.public:
		return b.owner
	case strings.HasPrefix(op.path, "/api/v1/me"):
		return b.customerToken
	}
	return ""
}

// listQueries gives list operations the query they need to answer, and
// variants that filter by b's identifiers.
func listQueries(b *isoStore) map[string][]string {
	day := time.Now().UTC()
	span := "from=" + day.Add(-72*time.Hour).Format(time.RFC3339) + "&to=" + day.Add(72*time.Hour).Format(time.RFC3339)
	return map[string][]string{
		"/api/v1/admin/dead-letters":        {"?group=cart-catalog", "?group=cart-orders", "?group=pricing-catalog"},
		"/api/v1/admin/staff/attendance":    {"?" + url.PathEscape(span), "?" + url.PathEscape(span) + "&employee_id=" + b.employeeID},
		"/api/v1/admin/staff/shifts":        {"?" + url.PathEscape(span), "?" + url.PathEscape(span) + "&employee_id=" + b.employeeID},
		"/api/v1/admin/inventory/movements": {"", "?sku=" + b.sku},
		"/api/v1/admin/orders":              {"", "?email=" + url.QueryEscape(b.orderEmail)},
		"/api/v1/admin/payments":            {"", "?status=captured"},
		"/api/v1/admin/carts":               {"", "?status=open"},
		"/api/v1/admin/inventory":           {"", "?low=true"},
		"/api/v1/availability":              {"", "?sku=" + b.sku},
		"/api/v1/products":                  {"", "?category=" + b.categoryID},
		"/api/v1/shipping-methods":          {"", "?country=DE"},
		"/api/v1/staff/check-ins/current":   {"", "?employee_id=" + b.employeeID},
		"/api/v1/reviews":                   {"?product_id=" + b.productID},
		"/api/v1/reviews/ratings":           {"?product_id=" + b.productID},
		"/api/v1/admin/reviews":             {"", "?status=published"},
		"/api/v1/admin/invoices":            {"", "?q=" + url.QueryEscape(b.orderEmail), "?q=" + b.orderID},
	}
}

// needles are b's identifiers that must appear in no answer to a.
func (b *isoStore) needles() map[string]string {
	return map[string]string{
		"store id": b.id, "store host": b.host, "owner account": b.ownerID,
		"customer": b.customerID, "customer email": b.customerEmail, "address": b.addressID,
		"staff account": b.staffAccountID, "staff email": b.staffEmail, "invitation": b.invitationID,
		"sku": b.sku, "product": b.productID, "product slug": b.productSlug, "category": b.categoryID,
		"discount": b.discountID, "coupon": b.coupon, "tax rate": b.taxRateID,
		"shipping method": b.shippingID, "shipping code": b.shippingCode,
		"cart": b.cartID, "cart line": b.cartLineID, "order": b.orderID, "order token": b.orderToken, "review": b.reviewID,
		"invoice":     b.invoiceID,
		"order email": b.orderEmail, "shipment": b.shipmentID, "return": b.returnID,
		"payment": b.paymentID, "payment ref": b.paymentRef, "employee": b.employeeID, "shift": b.shiftID,
		"announcement": b.announcementID, "domain": b.domain, "api key": b.apiKeyID, "api key secret": b.apiKey,
		"webhook subscription": b.webhookID, "webhook delivery": b.deliveryID,
	}
}

// leaked names b's identifiers found in body that the caller did not send
// in sent (an answer may repeat the caller's own input).
func leaked(body []byte, sent string, needles map[string]string) []string {
	var found []string
	for what, v := range needles {
		if v != "" && bytes.Contains(body, []byte(v)) && !strings.Contains(sent, v) {
			found = append(found, what+" "+v)
		}
	}
	sort.Strings(found)
	return found
}

// signedWebhook is a fake provider event refunding one cent of b's
// payment (within what was captured, so B would apply it), signed now.
func signedWebhook(b *isoStore) (string, map[string]string) {
	ev := map[string]any{"id": "evt_iso_" + randomHex(6), "type": "refund.created", "data": map[string]any{"ref": b.paymentRef, "refunded_total": 1}}
	raw, _ := json.Marshal(ev)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(isoWebhookSecret))
	m.Write([]byte(ts + "."))
	m.Write(raw)
	return string(raw), map[string]string{"Mercato-Signature": "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))}
}

// sameAsUnknown lists the operations that, by design, do not answer 404
// for an identifier they have not seen, and why. For them the answer to
// B's identifier must be the answer to one that exists nowhere (nothing is
// learnt), and B must read the same afterwards (nothing is changed).
// Every other operation must answer 404.
var sameAsUnknown = map[string]string{
	"admin-adjust-stock":        "SKUs are names each store chooses: the adjustment makes A's own stock row of that name",
	"admin-set-stock-threshold": "SKUs are names each store chooses: the threshold is set on A's own stock row of that name",
	"admin-release-redemption":  "idempotent: releasing what the store never redeemed is done (204)",
	"list-order-reviews":        "an order the caller does not show is theirs has nothing to list, as one that exists nowhere (200, two empty lists)",
	"list-order-invoices":       "an order the caller does not show is theirs has nothing to list, as one that exists nowhere (200, an empty list)",
}

// unknownPath fills a path template with identifiers no store has.
func unknownPath(template string) string {
	out := template
	for strings.Contains(out, "{") {
		i, j := strings.Index(out, "{"), strings.Index(out, "}")
		v := fmt.Sprintf("01900000-0000-7000-8000-%s", strings.ToLower(randomHex(6)))
		if out[i+1:j] == "sku" {
			v = "NONE-" + randomHex(5)
		}
		out = out[:i] + v + out[j+1:]
	}
	return out
}

func TestIsolation(t *testing.T) {
	t.Parallel()
	for name, flags := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t), "-payment.fake-webhook-secret="+isoWebhookSecret)
			c := isoClient{t: t, p: s.p}
			a, b := isoSignup(t, s.p, "isoa"), isoSignup(t, s.p, "isob")
			c.populate(b)

			// A has what its own callers need so that the calls reach the
			// lookup: a SKU for valid bodies, a customer, a secret key, and
			// an employee record of the owner (staff operations refuse
			// accounts without one before looking anything up).
			a.sku, _, _ = c.sku(a, "", 5)
			c.customer(a)
			r := c.must("POST", "/api/v1/admin/store/api-keys", map[string]any{"name": "isolation", "kind": "secret"}, a.as(a.owner), http.StatusCreated)
			a.secretKey = c.field(r, "key")
			c.must("POST", "/api/v1/admin/staff/employees", map[string]any{"name": "Owner A", "role": "owner", "account_id": a.ownerID}, a.as(a.owner), http.StatusCreated)

			ops := readOps(t, s.p)
			paths := targets(b)
			needles := b.needles()

			// The control: B reads each of its resources, so every mapping
			// names something that exists; the answers are kept to check
			// that nothing A does changes them.
			snapshot := func() map[string][]byte {
				snap := map[string][]byte{}
				for _, op := range ops {
					if op.method != "GET" || !strings.Contains(op.path, "{") {
						continue
					}
					for _, path := range paths[op.path] {
						if strings.HasPrefix(path, "/api/v1/orders/") && !strings.Contains(path, "token=") {
							continue // needs the token: the token-less form is A's probe only
						}
						r := s.p.Call("GET", path, nil, b.as(bCallerFor(op, b)))
						if r.Status != http.StatusOK {
							t.Errorf("control: B cannot read its own %s (%s): %d %s", path, op.id, r.Status, r.Body)
						}
						snap[path] = r.Body
					}
				}
				return snap
			}
			before := snapshot()
			checked, refs, lists, skipped := 0, 0, 0, 0
			for _, op := range ops {
				if len(callersFor(op, a)) == 0 {
					skipped++
				}
			}

			// Resources named in bodies: B's cart, coupon, SKU, shipping
			// method and employee mean nothing in A. (Before anything below
			// gives A a stock row named like B's SKU.)
			for _, tc := range []struct {
				what, method, path string
				body               any
				tok                string
			}{
				{"checkout of B's cart", "POST", "/api/v1/checkout", func() any {
					bd := checkoutBody("x@example.com", "tok_visa", nil)
					delete(bd, "items")
					bd["cart_id"] = b.cartID
					return bd
				}(), ""},
				{"checkout of B's SKU", "POST", "/api/v1/checkout", checkoutBody("x@example.com", "tok_visa", map[string]int{b.sku: 1}), ""},
				{"checkout with B's coupon", "POST", "/api/v1/checkout", func() any {
					bd := checkoutBody("x@example.com", "tok_visa", map[string]int{a.sku: 1})
					bd["coupon"] = b.coupon
					return bd
				}(), ""},
				{"checkout with B's shipping method", "POST", "/api/v1/checkout", func() any {
					bd := checkoutBody("x@example.com", "tok_visa", map[string]int{a.sku: 1})
					bd["shipping_method"] = b.shippingCode
					return bd
				}(), ""},
				{"quote of B's SKU", "POST", "/api/v1/quote", map[string]any{"items": []map[string]any{{"sku": b.sku, "quantity": 1}}, "no_shipping": true}, ""},
				{"quote with B's coupon", "POST", "/api/v1/quote", map[string]any{"items": []map[string]any{{"sku": a.sku, "quantity": 1}}, "coupon": b.coupon, "no_shipping": true}, ""},
				{"quote with B's shipping method", "POST", "/api/v1/quote", map[string]any{"items": []map[string]any{{"sku": a.sku, "quantity": 1}}, "shipping_method": b.shippingCode}, ""},
				{"cart of B's SKU", "POST", "/api/v1/carts", map[string]any{"items": []map[string]any{{"sku": b.sku, "quantity": 1}}}, ""},
				{"cart with B's coupon", "POST", "/api/v1/carts", map[string]any{"items": []map[string]any{{"sku": a.sku, "quantity": 1}}, "coupon": b.coupon}, ""},
				{"redemption of B's coupon", "POST", "/api/v1/admin/pricing/redemptions", map[string]any{"order_id": b.orderID, "coupon": b.coupon}, a.owner},
				{"reservation of B's SKU", "POST", "/api/v1/admin/inventory/reservations", map[string]any{"order_id": "iso-" + randomHex(4), "lines": []map[string]any{{"sku": b.sku, "quantity": 1}}}, a.owner},
				{"shift for B's employee", "POST", "/api/v1/admin/staff/shifts", map[string]any{"employee_id": b.employeeID, "starts_at": time.Now().Add(48 * time.Hour).UTC().Truncate(time.Hour), "ends_at": time.Now().Add(50 * time.Hour).UTC().Truncate(time.Hour)}, a.owner},
				{"check-in of B's employee", "POST", "/api/v1/staff/check-ins", map[string]any{"employee_id": b.employeeID}, a.owner},
			} {
				sent, _ := json.Marshal(tc.body)
				r := s.p.Call(tc.method, tc.path, tc.body, a.as(tc.tok, "Idempotency-Key", "iso-"+randomHex(6)))
				refs++
				if r.Status/100 != 4 {
					t.Errorf("LEAK? %s in A: %d %s, want 4xx", tc.what, r.Status, r.Body)
				}
				if found := leaked(r.Body, string(sent), needles); len(found) > 0 {
					t.Errorf("LEAK: %s in A answers with B's %s: %s", tc.what, strings.Join(found, ", "), r.Body)
				}
			}

			// A's lists hold nothing of B's; filters naming B's resources
			// find nothing.
			scanLists := func(needles map[string]string) {
				queries := listQueries(b)
				for _, op := range ops {
					if op.method != "GET" || strings.Contains(op.path, "{") {
						continue
					}
					qs := queries[op.path]
					if qs == nil {
						qs = []string{""}
					}
					callers := callersFor(op, a)
					for _, q := range qs {
						for caller, tok := range callers {
							r := s.p.Call("GET", op.path+q, nil, a.as(tok))
							lists++
							// A filter naming B's resource may answer that A
							// has no such thing.
							byB := len(leaked([]byte(q), "", needles)) > 0
							if r.Status != http.StatusOK && !(byB && r.Status == http.StatusNotFound) {
								t.Errorf("list %s%s (%s) as A's %s: %d %s, want 200", op.path, q, op.id, caller, r.Status, r.Body)
							}
							if found := leaked(r.Body, q, needles); len(found) > 0 {
								t.Errorf("LEAK: list %s%s (%s) as A's %s shows B's %s", op.path, q, op.id, caller, strings.Join(found, ", "))
							}
						}
					}
				}
			}
			scanLists(needles)

			// Every operation on a resource, with B's identifiers, on A.
			mapped := 0
			for _, op := range ops {
				if !strings.Contains(op.path, "{") {
					continue
				}
				bPaths, ok := paths[op.path]
				if !ok {
					t.Errorf("%s %s (%s) has path parameters but no mapping to B's resources: add it to targets", op.method, op.path, op.id)
					continue
				}
				mapped++
				callers := callersFor(op, a)
				for _, path := range bPaths {
					for caller, tok := range callers {
						body, hdr := bodyFor(op, a), a.as(tok)
						if op.path == "/api/v1/payments/webhooks/{provider}" {
							raw, sig := signedWebhook(b)
							body = raw
							for k, v := range sig {
								hdr[k] = v
							}
							r := s.p.Call(op.method, path, body, hdr)
							checked++
							if r.Status/100 != 2 {
								t.Errorf("%s %s as A's %s with B's payment: %d %s, want 2xx (an event about no payment of A's)", op.method, path, caller, r.Status, r.Body)
							}
							continue
						}
						r := s.p.Call(op.method, path, body, hdr)
						checked++
						why, exempt := sameAsUnknown[op.id]
						if r.Status == http.StatusNotFound {
							// From the operation, not from a host that
							// resolved to no store (that would test nothing).
							var pr problem
							if _ = json.Unmarshal(r.Body, &pr); pr.Code == "unknown_tenant" {
								t.Fatalf("%s %s on A's host: %s", op.method, path, r.Body)
							}
							continue
						}
						if !exempt {
							t.Errorf("LEAK? %s %s (%s) as A's %s against B's resource: %d %s, want 404", op.method, path, op.id, caller, r.Status, r.Body)
							continue
						}
						control := s.p.Call(op.method, unknownPath(op.path), bodyFor(op, a), a.as(tok))
						var got, want problem
						_ = json.Unmarshal(r.Body, &got)
						_ = json.Unmarshal(control.Body, &want)
						if r.Status != control.Status || got.Code != want.Code {
							t.Errorf("LEAK: %s %s (%s) as A's %s: %d %s for B's resource, %d %s for one that exists nowhere (%s)", op.method, path, op.id, caller, r.Status, got.Code, control.Status, want.Code, why)
						}
					}
				}
			}

			// Again after the writes: A may now have a stock row of its own
			// named like B's SKU (see sameAsUnknown), nothing else.
			rest := maps.Clone(needles)
			delete(rest, "sku")
			scanLists(rest)

			// Nothing A did changed B.
			after := snapshot()
			for path, was := range before {
				if !bytes.Equal(was, after[path]) {
					t.Errorf("LEAK: B's %s changed while A probed it:\nbefore %s\nafter  %s", path, was, after[path])
				}
			}

			t.Logf("isolation on %s: %d operations in /openapi.json; %d operations with path parameters mapped to B's resources, %d calls with B's identifiers (404 or same as unknown), %d calls naming B's resources in bodies (4xx), %d list calls scanned for %d of B's identifiers, %d operations only the deployment may call skipped, %d of B's resources read back unchanged",
				name, len(ops), mapped, checked, refs, lists, len(needles), skipped, len(before))
		})
	}
}
