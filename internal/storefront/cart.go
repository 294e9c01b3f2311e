package storefront

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// cartKey is the session value holding the visitor's cart ID (the cart's
// only credential; sessions are per store, and the cart service answers a
// cart of another store as unknown).
const cartKey = "cart_id"

func (s *Service) cartRoutes(route routeFunc) {
	route("GET /cart", s.cartPage)
	route("POST /cart/items", s.addToCart)
	route("POST /cart/lines/{line}", s.setQuantity)
	route("POST /cart/lines/{line}/remove", s.removeLine)
	route("POST /cart/coupon", s.setCoupon)
	route("POST /cart/shipping", s.setShipping)
}

// visitorCart reads the visitor's open cart. It reports false, with no
// error, when there is none: none remembered, or the one remembered is
// unknown to the cart service (expired, of another store) or checked out,
// which is then forgotten.
func (s *Service) visitorCart(r *http.Request) (cartapi.Cart, bool, error) {
	id := s.kit.Recall(r, cartKey)
	if id == "" {
		return cartapi.Cart{}, false, nil
	}
	c, err := s.deps.Cart.Get(r.Context(), id)
	if _, refused := apiclient.Refused(err); refused || errors.Is(err, cartapi.ErrNotFound) {
		s.kit.Forget(r, cartKey)
		return cartapi.Cart{}, false, nil
	}
	if err != nil {
		return cartapi.Cart{}, false, err
	}
	if c.Status != cartapi.StatusOpen {
		s.kit.Forget(r, cartKey)
		return cartapi.Cart{}, false, nil
	}
	return c, true, nil
}

// cartData is the cart page's data.
type cartData struct {
	Cart  cartapi.Cart
	Lines []cartLine
	// FailedLine is the line whose quantity form was refused.
	FailedLine string
	Countries  []page.Option
	Country    string
	Methods    []shippingChoice
	Method     string
	Size       int
}

// cartLine is a line with its product's and variant's titles apart and a
// link to the product, when the catalog still shows it.
type cartLine struct {
	cartapi.Line
	Product, Variant, Link string
}

// shippingChoice is a shipping method as the cart offers it.
type shippingChoice struct {
	pricingapi.ShippingMethod
	Free bool // free for this cart (its subtotal reaches FreeOver)
}

// cartPage shows the visitor's cart.
func (s *Service) cartPage(w http.ResponseWriter, r *http.Request) {
	s.renderCart(w, r, http.StatusOK, nil, "")
}

// renderCart renders the cart page with status; form is a refused form
// shown again (nil: none), failedLine the line it was about.
func (s *Service) renderCart(w http.ResponseWriter, r *http.Request, status int, form *page.Form, failedLine string) {
	ctx := r.Context()
	c, _, err := s.visitorCart(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d := cartData{Cart: c, FailedLine: failedLine, Size: imageSize}
	if len(c.Lines) > 0 {
		d.Lines = s.cartLines(ctx, c.Lines)
		d.Country, d.Method = c.Country, c.ShippingMethod
		if form.Has("country") {
			d.Country = form.Get("country")
		}
		if form.Has("shipping_method") {
			d.Method = form.Get("shipping_method")
		}
		all, err := s.deps.Pricing.ShippingMethods(ctx, "")
		if err != nil {
			s.log.WarnContext(ctx, "read shipping methods", "err", err)
		}
		d.Countries = shippingCountries(all.Items, d.Country)
		if d.Country == "" && len(d.Countries) > 0 {
			// No guess: the estimate's country is pricing's default, which
			// a page may not read.
			d.Countries = append([]page.Option{{Value: "", Label: "Choose a country"}}, d.Countries...)
		}
		for _, m := range all.Items {
			if len(m.Countries) > 0 && !slices.Contains(m.Countries, d.Country) {
				continue
			}
			free := m.FreeOver != nil && m.FreeOver.Currency == c.Subtotal.Currency && c.Subtotal.Amount >= m.FreeOver.Amount
			d.Methods = append(d.Methods, shippingChoice{ShippingMethod: m, Free: free})
		}
	}
	v := s.viewWith(r, "Your cart", nil, &c)
	v.Form = form
	v.Data = d
	s.kit.Render(w, r, status, "cart", v)
}

// cartLines looks up the lines' products in the catalog, once per product,
// for their titles and links. A product the catalog no longer shows keeps
// the line's own title, unlinked.
func (s *Service) cartLines(ctx context.Context, lines []cartapi.Line) []cartLine {
	products := map[string]*catalogapi.Product{}
	out := make([]cartLine, len(lines))
	for i, l := range lines {
		out[i] = cartLine{Line: l, Product: l.Title}
		// An upload is drawn from its smallest variant: the picture is small.
		out[i].ImageURL, _ = responsive(l.ImageURL, mediaapi.SizeSmall)
		p, seen := products[l.ProductID]
		if !seen {
			got, err := s.deps.Catalog.Product(ctx, l.ProductID)
			switch {
			case err == nil:
				p = &got
			case !errors.Is(err, catalogapi.ErrNotFound):
				s.log.WarnContext(ctx, "read a cart line's product", "product_id", l.ProductID, "err", err)
			}
			products[l.ProductID] = p
		}
		if p == nil {
			continue
		}
		out[i].Product = p.Title
		out[i].Link = "/p/" + p.Slug + "?" + url.Values{"sku": {l.SKU}}.Encode()
		for _, vr := range p.Variants {
			if vr.SKU == l.SKU && len(p.Variants) > 1 {
				out[i].Variant = variantLabel(*p, vr)
			}
		}
	}
	return out
}

// addToCart adds the product page's choice to the visitor's cart, making
// the cart on the first add. The form's Idempotency-Key makes a form sent
// twice add once (see claimKey); a refused quantity or SKU shows the
// product page again with the field marked.
func (s *Service) addToCart(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	product, sku := form.Get("product"), form.Get("sku")
	qty, msg := quantity(form.Get("quantity"), 1)
	switch {
	case msg != "":
		form.Fail("quantity", msg)
	case qty == 0:
		form.Fail("quantity", "enter at least 1")
	}
	if sku == "" {
		form.Fail("sku", "choose a variant")
	}
	if form.Invalid() {
		s.refuseAdd(w, r, product, sku, form)
		return
	}
	key := form.Key()
	if !s.claimKey(r, key) {
		// The same form again (a double click, a resent page): it was
		// added the first time.
		s.kit.Redirect(w, r, "/cart", "Added to your cart.")
		return
	}
	c, err := s.add(r, cartapi.Item{SKU: sku, Quantity: qty}, key)
	if err != nil {
		s.releaseKey(r, key)
		if form.Refused(err, map[string]string{"sku": "sku", "quantity": "quantity", "items[0].sku": "sku", "items[0].quantity": "quantity"}) {
			if form.Error("sku") == "" && form.Error("quantity") == "" {
				form.Fail("quantity", form.Message) // too many lines, say: shown by the field
			}
			s.refuseAdd(w, r, product, sku, form)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	title := sku
	for _, l := range c.Lines {
		if l.SKU == sku {
			title = l.Title
		}
	}
	s.kit.Redirect(w, r, "/cart", fmt.Sprintf("Added %d × %s to your cart.", qty, title))
}

// add puts an item in the visitor's cart, making the cart (and
// remembering it) when there is none.
func (s *Service) add(r *http.Request, it cartapi.Item, key string) (cartapi.Cart, error) {
	c, ok, err := s.visitorCart(r)
	if err != nil {
		return cartapi.Cart{}, err
	}
	if ok {
		return s.deps.Cart.AddItem(r.Context(), c.ID, it)
	}
	ctx := r.Context()
	if actx, _, err := s.kit.Authed(r, "customer"); err == nil {
		ctx = actx // a customer's cart is made theirs
	}
	c, err = s.deps.Cart.Create(ctx, cartapi.CartCreate{Items: []cartapi.Item{it}}, key)
	if err != nil {
		return cartapi.Cart{}, err
	}
	s.kit.Remember(r, cartKey, c.ID)
	return c, nil
}

// refuseAdd answers a refused add-to-cart form: its product page again,
// 422, with the fields marked; the cart page when the form names no
// product.
func (s *Service) refuseAdd(w http.ResponseWriter, r *http.Request, product, sku string, form *page.Form) {
	if product == "" {
		s.renderCart(w, r, http.StatusUnprocessableEntity, form, "")
		return
	}
	s.productPage(w, r, product, sku, form)
}

// quantity reads a typed quantity: empty is def; it must be a whole
// number from 0 to cartapi.MaxQuantity. msg says what is wrong.
func quantity(typed string, def int64) (n int64, msg string) {
	if typed == "" {
		return def, ""
	}
	n, err := strconv.ParseInt(typed, 10, 64)
	if err != nil || n < 0 {
		return 0, "enter a whole number, like 2"
	}
	if n > cartapi.MaxQuantity {
		return 0, fmt.Sprintf("at most %d", cartapi.MaxQuantity)
	}
	return n, ""
}

// setQuantity changes a line's quantity; 0 removes the line.
func (s *Service) setQuantity(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	line := r.PathValue("line")
	qty, msg := quantity(form.Get("quantity"), -1)
	if qty < 0 && msg == "" {
		msg = "enter a quantity"
	}
	if msg != "" {
		form.Fail("quantity", msg)
		s.renderCart(w, r, http.StatusUnprocessableEntity, form, line)
		return
	}
	if qty == 0 {
		s.removeLine(w, r)
		return
	}
	c, ok, err := s.visitorCart(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if !ok {
		s.kit.Redirect(w, r, "/cart", "Your cart is empty.")
		return
	}
	_, err = s.deps.Cart.SetQuantity(r.Context(), c.ID, line, qty)
	if s.lineGone(w, r, err) {
		return
	}
	if err != nil {
		if form.Refused(err, map[string]string{"quantity": "quantity"}) {
			if form.Error("quantity") == "" {
				form.Fail("quantity", form.Message)
			}
			s.renderCart(w, r, http.StatusUnprocessableEntity, form, line)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/cart", "Quantity updated.")
}

// removeLine takes a line out of the cart. A line already gone is no
// error: the form was sent twice.
func (s *Service) removeLine(w http.ResponseWriter, r *http.Request) {
	c, ok, err := s.visitorCart(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if !ok {
		s.kit.Redirect(w, r, "/cart", "Your cart is empty.")
		return
	}
	_, err = s.deps.Cart.RemoveItem(r.Context(), c.ID, r.PathValue("line"))
	if apiclient.IsCode(err, "line_not_found") {
		err = nil
	}
	if s.lineGone(w, r, err) {
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/cart", "Removed from your cart.")
}

// lineGone answers a change of a line that is no longer in the cart, or
// of a cart that was checked out meanwhile, with the cart page and a
// word; it reports whether it answered.
func (s *Service) lineGone(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case apiclient.IsCode(err, "line_not_found"):
		s.kit.Redirect(w, r, "/cart", "That item is no longer in your cart.")
	case apiclient.IsCode(err, "cart_checked_out"), errors.Is(err, cartapi.ErrNotFound):
		s.kit.Forget(r, cartKey)
		s.kit.Redirect(w, r, "/cart", "Your cart was checked out or has expired.")
	default:
		return false
	}
	return true
}

// setCoupon applies a coupon code to the cart, or removes it (the
// "remove" button). A code pricing refuses (unknown, expired, not for this
// cart) is marked, 422, and the cart stays as it was.
func (s *Service) setCoupon(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	code := strings.ToUpper(form.Get("coupon"))
	if form.Has("remove") {
		code = ""
	} else if code == "" {
		form.Fail("coupon", "enter a coupon code")
		s.renderCart(w, r, http.StatusUnprocessableEntity, form, "")
		return
	}
	flash := "Coupon removed."
	if code != "" {
		flash = "Coupon " + code + " applied."
	}
	s.updateCart(w, r, form, cartapi.CartUpdate{Coupon: &code}, "coupon", map[string]string{"coupon": "coupon"}, flash)
}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

// setShipping sets the cart's destination country and shipping method.
func (s *Service) setShipping(w http.ResponseWriter, r *http.Request) {
	form := page.ParseForm(w, r)
	country, method := strings.ToUpper(form.Get("country")), form.Get("shipping_method")
	if !countryCode.MatchString(country) {
		form.Fail("country", "choose a country")
	}
	if method == "" {
		form.Fail("shipping_method", "choose a shipping method")
	}
	if form.Invalid() {
		s.renderCart(w, r, http.StatusUnprocessableEntity, form, "")
		return
	}
	s.updateCart(w, r, form, cartapi.CartUpdate{Country: &country, ShippingMethod: &method}, "shipping_method",
		map[string]string{"country": "country", "shipping_method": "shipping_method", "region": "country"}, "Shipping updated.")
}

// updateCart sends u to the visitor's cart and goes back to the cart page
// with flash; a refusal shows the cart again, 422, with the fields marked
// (field when the refusal names none).
func (s *Service) updateCart(w http.ResponseWriter, r *http.Request, form *page.Form, u cartapi.CartUpdate, field string, fields map[string]string, flash string) {
	c, ok, err := s.visitorCart(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if !ok {
		s.kit.Redirect(w, r, "/cart", "Your cart is empty.")
		return
	}
	_, err = s.deps.Cart.Update(r.Context(), c.ID, u)
	if s.lineGone(w, r, err) {
		return
	}
	if err != nil {
		if form.Refused(err, fields) {
			if len(form.Errors) == 0 {
				form.Fail(field, form.Message)
			}
			s.renderCart(w, r, http.StatusUnprocessableEntity, form, "")
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/cart", flash)
}

// shippingCountries are the countries the shipping form offers: those the
// methods name, and a list of common ones when a method ships everywhere;
// plus current, the cart's. They are sorted by name.
func shippingCountries(methods []pricingapi.ShippingMethod, current string) []page.Option {
	names := countryNames()
	codes := map[string]bool{}
	for _, m := range methods {
		if len(m.Countries) == 0 {
			for code := range names {
				codes[code] = true
			}
		}
		for _, code := range m.Countries {
			codes[code] = true
		}
	}
	if current != "" && len(codes) > 0 {
		codes[current] = true
	}
	out := make([]page.Option, 0, len(codes))
	for code := range codes {
		name := names[code]
		if name == "" {
			name = code
		}
		out = append(out, page.Option{Value: code, Label: name})
	}
	slices.SortFunc(out, func(a, b page.Option) int { return strings.Compare(a.Label, b.Label) })
	return out
}

// countryNames are the countries offered when a shipping method ships
// everywhere: Europe's and a few beyond, by their English names.
func countryNames() map[string]string {
	return map[string]string{
		"AT": "Austria", "AU": "Australia", "BE": "Belgium", "BG": "Bulgaria", "CA": "Canada", "CH": "Switzerland",
		"CY": "Cyprus", "CZ": "Czechia", "DE": "Germany", "DK": "Denmark", "EE": "Estonia", "ES": "Spain",
		"FI": "Finland", "FR": "France", "GB": "United Kingdom", "GR": "Greece", "HR": "Croatia", "HU": "Hungary",
		"IE": "Ireland", "IS": "Iceland", "IT": "Italy", "JP": "Japan", "LI": "Liechtenstein", "LT": "Lithuania",
		"LU": "Luxembourg", "LV": "Latvia", "MT": "Malta", "NL": "Netherlands", "NO": "Norway", "NZ": "New Zealand",
		"PL": "Poland", "PT": "Portugal", "RO": "Romania", "SE": "Sweden", "SI": "Slovenia", "SK": "Slovakia",
		"US": "United States",
	}
}
