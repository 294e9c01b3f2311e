package storefront

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// checkoutRoutes: the checkout form and its submission.
func (s *Service) checkoutRoutes(route routeFunc) {
	route("GET /checkout", s.checkoutPage)
	route("POST /checkout", s.checkout)
}

// placedKey is the session value recording the last checkout that
// succeeded: its Idempotency-Key, order ID and guest token. The same form
// sent again once the cart is gone (a double click that arrives after the
// first answer, a form resubmitted from the history) leads to that order
// instead of an empty cart; sends that overlap are one order anyway, by
// the key (the order service's idempotency).
const placedKey = "checkout_placed"

// card is one of the fake provider's test tokens, as the form offers it.
type card struct{ Token, Label string }

// testCards are the fake payment provider's test tokens
// (paymentapi.ProviderFake): how each ends is the token's to say.
var testCards = []card{
	{"tok_visa", "Test card — approved (tok_visa)"},
	{"tok_declined", "Test card — declined (tok_declined)"},
	{"tok_insufficient_funds", "Test card — insufficient funds (tok_insufficient_funds)"},
	{"tok_timeout", "Test card — timeout (tok_timeout)"},
}

// checkoutData is the checkout page's data.
type checkoutData struct {
	Cart      cartapi.Cart
	Methods   []page.Option
	Countries []page.Option
	// Cards are the payment choices (none: the store takes no payment
	// this page can collect).
	Cards []card
	// Email, Country and Method prefill the form.
	Email, Country, Method string
	// Customer is the signed-in customer's ID the form is sent as.
	Customer string
}

// checkoutFields maps the order API's field locations to the form's.
var checkoutFields = map[string]string{
	"email":                        "email",
	"shipping_address.name":        "name",
	"shipping_address.line1":       "line1",
	"shipping_address.line2":       "line2",
	"shipping_address.city":        "city",
	"shipping_address.region":      "region",
	"shipping_address.postal_code": "postal_code",
	"shipping_address.country":     "country",
	"shipping_method":              "shipping_method",
	"payment.token":                "payment",
	"payment.provider":             "payment",
	"payment":                      "payment",
	"cart_id":                      "cart",
	"items":                        "cart",
	"coupon":                       "cart",
}

// errNoCart: the visitor has no cart to check out.
var errNoCart = errors.New("storefront: no cart to check out")

// openCart reads the visitor's cart: errNoCart when there is none to check
// out (no cart, an empty one, or one that became an order). A cart the
// cart service no longer knows, or that became an order, is forgotten.
func (s *Service) openCart(r *http.Request) (cartapi.Cart, error) {
	id := s.kit.Recall(r, cartKey)
	if id == "" {
		return cartapi.Cart{}, errNoCart
	}
	c, err := s.deps.Cart.Get(r.Context(), id)
	if errors.Is(err, cartapi.ErrNotFound) {
		s.kit.Forget(r, cartKey)
		return cartapi.Cart{}, errNoCart
	}
	if err != nil {
		return cartapi.Cart{}, fmt.Errorf("read cart: %w", err)
	}
	if c.Status != "open" || c.OrderID != "" {
		s.kit.Forget(r, cartKey)
		return cartapi.Cart{}, errNoCart
	}
	if len(c.Lines) == 0 {
		return cartapi.Cart{}, errNoCart
	}
	return c, nil
}

// failCart answers a checkout without a cart to check out: to the cart
// page, which says what to do.
func (s *Service) failCart(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errNoCart) {
		s.kit.Redirect(w, r, "/cart", "Your cart is empty: add something before checking out.")
		return
	}
	s.kit.Fail(w, r, err)
}

func (s *Service) checkoutPage(w http.ResponseWriter, r *http.Request) {
	c, err := s.openCart(r)
	if err != nil {
		s.failCart(w, r, err)
		return
	}
	v := s.view(r, "Checkout")
	v.Form = page.EmptyForm(s.savedAddress(r))
	s.renderCheckout(w, r, v, c, http.StatusOK)
}

// savedAddress is a signed-in customer's default address (the first of
// their address book) as the checkout form's values; nil for a guest, or
// when the book is empty or cannot be read (the customer types it).
func (s *Service) savedAddress(r *http.Request) url.Values {
	ctx, p, err := s.asCustomer(r)
	if err != nil || p == nil {
		return nil
	}
	book, err := s.deps.Identity.Addresses(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "read the customer's addresses", "err", err)
		return nil
	}
	if len(book.Items) == 0 {
		return nil
	}
	a := book.Items[0]
	return url.Values{"name": {a.Name}, "line1": {a.Line1}, "line2": {a.Line2}, "city": {a.City},
		"postal_code": {a.PostalCode}, "country": {a.Country}}
}

// renderCheckout renders the checkout form for cart c with v's form.
func (s *Service) renderCheckout(w http.ResponseWriter, r *http.Request, v *page.View, c cartapi.Cart, status int) {
	ctx := r.Context()
	d := checkoutData{Cart: c, Countries: countryOptions(), Email: c.Email, Method: c.ShippingMethod}
	if v.User != nil && v.User.Kind == customerKind {
		d.Email, d.Customer = v.User.Email, v.User.ID
	}
	d.Country = c.Country
	if d.Country == "" {
		d.Country = storeCountry(v.Store.Locale)
	}
	methods, err := s.deps.Pricing.ShippingMethods(ctx, "")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	for _, m := range methods.Items {
		d.Methods = append(d.Methods, page.Option{Value: m.Code, Label: methodLabel(v, m)})
	}
	providers, err := s.deps.Payments.Providers(ctx)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if slices.Contains(providers.Providers, paymentapi.ProviderFake) {
		d.Cards = testCards
	}
	v.Data = d
	s.kit.Render(w, r, status, "checkout", v)
}

// methodLabel describes a shipping method for people: its name, price
// and when it is free.
func methodLabel(v *page.View, m pricingapi.ShippingMethod) string {
	l := m.Name + " — " + v.Money(m.Price)
	if m.FreeOver != nil {
		l += " (free from " + v.Money(*m.FreeOver) + ")"
	}
	return l
}

// checkout places the order: POST /api/v1/checkout with the visitor's cart,
// as the signed-in customer or as a guest, with the form's
// Idempotency-Key, so the same form sent twice places one order. A refusal
// (a declined card, a field the order service refuses, a product sold out
// meanwhile) shows the form again with everything typed and the cart as it
// was; the order service has then reserved nothing and charged nothing.
func (s *Service) checkout(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	key := form.Key()
	if id, token, ok := s.placed(r, key); ok {
		s.kit.Redirect(w, r, orderURL(id, token), "Thank you! Your order is confirmed.")
		return
	}
	ctx, p, err := s.asCustomer(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if p == nil && form.Get("customer") != "" {
		// The form was for a customer whose session has ended meanwhile:
		// their order must not silently become a guest's.
		s.kit.Redirect(w, r, "/account/sign-in?next="+url.QueryEscape("/checkout"), "Your session has ended: please sign in again to place your order.")
		return
	}
	c, err := s.openCart(r)
	if err != nil {
		s.failCart(w, r, err)
		return
	}
	req := orderapi.CheckoutRequest{
		CartID: c.ID,
		Email:  form.Get("email"),
		ShippingAddress: orderapi.Address{
			Name: form.Get("name"), Line1: form.Get("line1"), Line2: form.Get("line2"), City: form.Get("city"),
			PostalCode: form.Get("postal_code"), Country: strings.ToUpper(form.Get("country")),
		},
		ShippingMethod: form.Get("shipping_method"),
		Payment:        orderapi.PaymentInput{Provider: paymentapi.ProviderFake, Token: form.Get("payment")},
	}
	for _, f := range []struct{ name, msg string }{
		{"email", "Enter your email address."},
		{"name", "Enter the name of the person receiving the parcel."},
		{"line1", "Enter the street and house number."},
		{"city", "Enter the town or city."},
		{"postal_code", "Enter the postal code."},
		{"country", "Choose the country."},
	} {
		if form.Get(f.name) == "" {
			form.Fail(f.name, f.msg)
		}
	}
	if !slices.ContainsFunc(testCards, func(c card) bool { return c.Token == req.Payment.Token }) {
		form.Fail("payment", "Choose how to pay.")
	}
	status := http.StatusUnprocessableEntity
	if !form.Invalid() {
		o, err := s.deps.Orders.Checkout(ctx, req, key)
		if err == nil {
			s.kit.Forget(r, cartKey)
			s.kit.Remember(r, placedKey, key+" "+o.ID+" "+o.Token)
			s.kit.Redirect(w, r, orderURL(o.ID, o.Token), "Thank you! Your order is confirmed.")
			return
		}
		var ae *apiclient.Error
		errors.As(err, &ae)
		switch {
		case apiclient.IsCode(err, "payment_timeout"):
			// A 504 of the service's own: the payment was voided and the
			// order cancelled, so trying again is safe.
			status = http.StatusGatewayTimeout
			form.Message = "The bank did not answer in time. Nothing was charged: please try again."
		case !form.Refused(err, checkoutFields):
			s.kit.Fail(w, r, err)
			return
		default:
			status = ae.Status
			switch ae.Code {
			case "payment_declined":
				form.Message = declineMessage(ae)
				form.Errors["payment"] = "This card was declined."
			case "out_of_stock":
				form.Message = "Sorry, part of your order has just sold out. Nothing was charged: please change your cart and try again."
			case "idempotency_key_reused":
				form.Message = "This form was already sent with other details. Please check them and place your order again."
			case "cart_checked_out":
				form.Message = "This cart has already become an order."
			default:
				if len(form.Errors) > 0 {
					form.Message = "Please correct the marked fields."
				}
			}
			// The service's words for a format ("must be …"), in words
			// for people.
			if strings.HasPrefix(form.Error("postal_code"), "must be") {
				form.Errors["postal_code"] = "Enter a valid postal code: letters and digits, with single spaces or dashes between them."
			}
			if strings.HasPrefix(form.Error("country"), "must be") {
				form.Errors["country"] = "Choose the country from the list."
			}
		}
	}
	v := s.view(r, "Checkout")
	v.Form = form
	s.renderCheckout(w, r, v, c, status)
}

// declineMessage tells why the provider declined, as far as the order
// service says (the code after the detail's colon: "the payment was
// declined: insufficient_funds").
func declineMessage(ae *apiclient.Error) string {
	const tail = " Nothing was charged: please choose another card."
	_, code, _ := strings.Cut(ae.Detail, ": ")
	switch code = strings.TrimSpace(code); {
	case code == "insufficient_funds":
		return "Your payment was declined: the card has insufficient funds." + tail
	case code == "expired_card":
		return "Your payment was declined: the card has expired." + tail
	case code == "" || code == "declined" || code == "card_declined" || strings.Trim(code, "abcdefghijklmnopqrstuvwxyz_") != "":
		return "Your payment was declined by the bank." + tail
	}
	return "Your payment was declined (" + strings.ReplaceAll(code, "_", " ") + ")." + tail
}

// placed returns the order a checkout sent with key placed, when it is
// the session's last one.
func (s *Service) placed(r *http.Request, key string) (id, token string, ok bool) {
	f := strings.Fields(s.kit.Recall(r, placedKey))
	if len(f) != 3 || f[0] != key {
		return "", "", false
	}
	return f[1], f[2], true
}

// orderURL is the order page of a guest's order (or the customer's, whose
// token is just as good).
func orderURL(id, token string) string {
	u := "/orders/" + url.PathEscape(id)
	if token != "" {
		u += "?" + url.Values{"token": {token}}.Encode()
	}
	return u
}
