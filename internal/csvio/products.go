package csvio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/money"
)

// productImporter creates or updates one product per record: the rows
// sharing a handle (Shopify's layout: the first row carries the product,
// every row a variant or an image). A product is found by its SKUs, so
// the same file imported twice changes nothing.
type productImporter struct {
	cat    Catalog
	stores Stores
	run    string // the import's run ID, in every idempotency key
	// has tells which optional fields the file has a column for: a
	// field without one is left as the store has it.
	has struct{ desc, status, attrs, images, cost bool }

	currencyOnce sync.Once
	currency     string
	currencyErr  error
}

// productColumns maps the columns the importer reads, in its own names and
// in Shopify's (docs/import-export.md has the table).
var productColumns = map[string]string{
	"handle": "handle", "slug": "handle",
	"title":       "title",
	"description": "description", "body_html": "description", "body": "description",
	"status": "status", "published": "published",
	"vendor": "vendor", "type": "type", "product_type": "type", "tags": "tags",
	"option1_name": "option1_name", "option1_value": "option1_value",
	"option2_name": "option2_name", "option2_value": "option2_value",
	"option3_name": "option3_name", "option3_value": "option3_value",
	"sku": "sku", "variant_sku": "sku",
	"price": "price", "variant_price": "price",
	"currency":  "currency",
	"image_url": "image_url", "image_src": "image_url",
	"image_alt": "image_alt", "image_alt_text": "image_alt",
	"variant_title": "variant_title",
	"cost_price":    "cost_price", "cost_per_item": "cost_price",
}

func (*productImporter) aliases() map[string]string { return productColumns }
func (*productImporter) allow() map[string]Allowed  { return nil }

func (p *productImporter) check(src *source) error {
	p.has.desc = src.has("description")
	p.has.status = src.has("status") || src.has("published")
	p.has.attrs = src.has("vendor") || src.has("type") || src.has("tags")
	p.has.images = src.has("image_url")
	p.has.cost = src.has("cost_price")
	if !src.has("sku") || !src.has("price") {
		return errors.New("a product file needs a sku (or Variant SKU) column and a price (or Variant Price) column")
	}
	if !src.has("title") {
		return errors.New("a product file needs a title column")
	}
	return nil
}

func (*productImporter) key(r row) string { return strings.ToLower(r.get("handle")) }

// shard: the records of one handle (or, without one, one SKU) are applied
// in file order, by one worker.
func (*productImporter) shard(r row) string {
	if h := r.get("handle"); h != "" {
		return strings.ToLower(h)
	}
	return r.get("sku")
}

func (*productImporter) skip(r row) bool {
	for _, v := range r.cells {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// storeCurrency is the currency of prices without one: the option's, or
// the store's, asked once.
func (p *productImporter) storeCurrency(ctx context.Context) (string, error) {
	p.currencyOnce.Do(func() {
		if p.currency != "" || p.stores == nil {
			return
		}
		st, err := p.stores.Store(ctx)
		if err != nil {
			p.currencyErr = fmt.Errorf("read the store's currency: %w", err)
			return
		}
		p.currency = st.Currency
	})
	return p.currency, p.currencyErr
}

// ParsePrice reads a price in major units ("19.99", "20") into minor units
// of currency; a comma as the decimal mark is taken too.
func ParsePrice(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	scale := money.Scale(currency)
	whole, frac, hasFrac := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	if whole == "" || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" || (hasFrac && frac == "") {
		return 0, fmt.Errorf("not a price: digits, with a decimal point")
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > scale {
		return 0, fmt.Errorf("more than %d decimals for %s", scale, currency)
	}
	if len(whole) > 12 {
		return 0, errors.New("too large")
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", scale-len(frac)), 10, 64)
	}
	for range scale {
		w *= 10
	}
	return w + f, nil
}

// FormatPrice writes minor units of currency in major units ("19.99").
func FormatPrice(amount int64, currency string) string {
	scale := money.Scale(currency)
	if scale == 0 {
		return strconv.FormatInt(amount, 10)
	}
	neg := amount < 0
	if neg {
		amount = -amount
	}
	s := strconv.FormatInt(amount, 10)
	for len(s) <= scale {
		s = "0" + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		s = "-" + s
	}
	return s
}

// wanted is the product a record describes.
type wanted struct {
	slug       string
	title      string
	desc       string
	status     catalogapi.Status
	options    []catalogapi.Option
	variants   []catalogapi.VariantInput
	attributes map[string]string
	images     []catalogapi.Image
}

// build checks a record's rows and makes the product they describe.
func (p *productImporter) build(ctx context.Context, rec record) (wanted, []Issue, error) {
	first := rec.rows[0]
	var issues []Issue
	bad := func(r row, col, msg string) { issues = append(issues, Issue{r.n, col, r.get(col), msg}) }
	w := wanted{title: first.get("title"), desc: first.get("description"), attributes: map[string]string{}}
	if h := strings.ToLower(first.get("handle")); slugPattern.MatchString(h) && len(h) <= 100 {
		w.slug = h
	} else if h != "" {
		bad(first, "handle", "a handle: lower-case letters and digits separated by single dashes, up to 100")
	}
	if w.title == "" || len([]rune(w.title)) > 200 {
		bad(first, "title", "the first row of a product needs a title of 1 to 200 characters")
	}
	if len([]rune(w.desc)) > 20000 {
		bad(first, "description", "at most 20000 characters")
	}
	switch st := strings.ToLower(first.get("status")); st {
	case "active", "draft", "archived":
		w.status = catalogapi.Status(st)
	case "":
		switch strings.ToLower(first.get("published")) {
		case "true", "yes", "1":
			w.status = catalogapi.StatusActive
		case "", "false", "no", "0":
			w.status = catalogapi.StatusDraft
		default:
			bad(first, "published", "TRUE or FALSE")
		}
	default:
		bad(first, "status", "active, draft or archived")
	}
	for _, a := range []string{"vendor", "type", "tags"} {
		if v := first.get(a); v != "" {
			w.attributes[a] = v
		}
	}
	currency, err := p.storeCurrency(ctx)
	if err != nil {
		return w, nil, err
	}
	// Option names come from the first row (Shopify leaves them empty on
	// the rows of further variants).
	var names []string
	for i := 1; i <= 3; i++ {
		n := first.get(fmt.Sprintf("option%d_name", i))
		if n == "" {
			break
		}
		names = append(names, n)
	}
	// Shopify's product without options has one variant with the option
	// Title: Default Title.
	if len(names) == 1 && names[0] == "Title" && first.get("option1_value") == "Default Title" {
		names = nil
	}
	values := make([][]string, len(names))
	skus := map[string]bool{}
	for _, r := range rec.rows {
		sku := r.get("sku")
		if img := r.get("image_url"); img != "" {
			if len(w.images) < 20 {
				w.images = append(w.images, catalogapi.Image{URL: img, Alt: cut(r.get("image_alt"), 300)})
			}
		}
		if sku == "" {
			if r.get("price") != "" || r.get("option1_value") != "" {
				bad(r, "sku", "a variant needs a SKU")
			}
			continue // an image row
		}
		if len(sku) > 64 || !skuPattern.MatchString(sku) {
			bad(r, "sku", "up to 64 letters, digits, '.', '_' and '-', starting with a letter or digit")
			continue
		}
		if skus[sku] {
			bad(r, "sku", "the SKU is on another row of the same product")
			continue
		}
		skus[sku] = true
		cur := currency
		if c := strings.ToUpper(r.get("currency")); c != "" {
			cur = c
		}
		if err := money.ValidCurrency(cur); err != nil {
			bad(r, "currency", "an ISO 4217 currency code (or none, for the store's)")
			continue
		}
		amount, err := ParsePrice(r.get("price"), cur)
		if err != nil {
			bad(r, "price", "a price: "+err.Error())
			continue
		}
		v := catalogapi.VariantInput{SKU: sku, Title: cut(r.get("variant_title"), 200), Price: money.Money{Amount: amount, Currency: cur}}
		if c := r.get("cost_price"); c != "" {
			cost, err := ParsePrice(c, cur)
			if err != nil {
				bad(r, "cost_price", "a cost price in the price's currency: "+err.Error())
				continue
			}
			v.CostPrice = &cost
		}
		for i, n := range names {
			val := r.get(fmt.Sprintf("option%d_value", i+1))
			if val == "" {
				bad(r, fmt.Sprintf("option%d_value", i+1), "a value for the option "+n)
				continue
			}
			if v.Options == nil {
				v.Options = map[string]string{}
			}
			v.Options[n] = val
			if !slices.Contains(values[i], val) {
				values[i] = append(values[i], val)
			}
		}
		w.variants = append(w.variants, v)
	}
	if len(w.variants) == 0 && len(issues) == 0 {
		issues = append(issues, Issue{Row: first.n, Column: "sku", Reason: "a product needs at least one variant row with a SKU and a price"})
	}
	if len(w.variants) > 100 {
		issues = append(issues, Issue{Row: first.n, Reason: "more than 100 variants in one product"})
	}
	for i, n := range names {
		w.options = append(w.options, catalogapi.Option{Name: n, Values: values[i]})
	}
	return w, issues, nil
}

func (p *productImporter) apply(ctx context.Context, rec record, dry bool) (outcome, []Issue, error) {
	w, issues, err := p.build(ctx, rec)
	if err != nil || len(issues) > 0 {
		return refused, issues, err
	}
	n := rec.rows[0].n
	column := func(loc string) string { return productColumn(loc) }
	var have *catalogapi.Product
	for _, v := range w.variants {
		l, err := p.cat.AdminProducts(ctx, catalogapi.AdminListParams{SKU: v.SKU})
		if err != nil {
			is, err := refusal(err, n, column)
			return refused, is, err
		}
		if len(l.Items) > 0 {
			have = &l.Items[0]
			break
		}
	}
	if have == nil {
		if dry {
			return created, nil, nil
		}
		st := w.status
		if st == catalogapi.StatusArchived {
			st = catalogapi.StatusDraft // archived after its creation
		}
		c := catalogapi.ProductCreate{Title: w.title, Slug: w.slug, Description: w.desc, Status: st,
			Options: w.options, Variants: w.variants, Attributes: w.attributes, Images: w.images}
		key := "csv-product-" + digest(struct {
			Run string
			C   catalogapi.ProductCreate
		}{p.run, c})
		made, err := p.cat.CreateProduct(ctx, c, key)
		if err != nil {
			is, err := refusal(err, n, column)
			return refused, is, err
		}
		if w.status == catalogapi.StatusArchived {
			st := catalogapi.StatusArchived
			if _, err := p.cat.UpdateProduct(ctx, made.ID, catalogapi.ProductUpdate{Status: &st}); err != nil {
				is, err := refusal(err, n, column)
				return refused, is, err
			}
		}
		return created, nil, nil
	}
	w.attributes = p.mergeAttributes(have.Attributes, w.attributes)
	if !p.has.cost {
		keepCosts(*have, w.variants) // the update replaces the variants
	}
	if p.same(*have, w) {
		return unchanged, nil, nil
	}
	if dry {
		return updated, nil, nil
	}
	u := catalogapi.ProductUpdate{Title: &w.title, Options: w.options, Variants: w.variants}
	if p.has.desc {
		u.Description = &w.desc
	}
	if p.has.status {
		u.Status = &w.status
	}
	if p.has.attrs {
		u.Attributes = w.attributes
	}
	if len(w.images) > 0 {
		u.Images = w.images
	}
	if w.slug != "" && w.slug != have.Slug {
		u.Slug = &w.slug
	}
	if _, err := p.cat.UpdateProduct(ctx, have.ID, u); err != nil {
		is, err := refusal(err, n, column)
		return refused, is, err
	}
	return updated, nil, nil
}

// digest is a short hash of v's printed form: with the run ID, the
// idempotency key of a create, so a retried request makes one product and
// a later run (after the product was deleted) makes it again.
func digest(v any) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%+v", v))
	return hex.EncodeToString(sum[:16])
}

// productColumn names the file's column for a field of the catalog's
// refusal (body.variants[0].price.amount → price).
func productColumn(loc string) string {
	loc = strings.TrimPrefix(loc, "body.")
	switch {
	case strings.HasPrefix(loc, "variants") && strings.Contains(loc, ".sku"):
		return "sku"
	case strings.HasPrefix(loc, "variants") && strings.Contains(loc, ".cost_price"):
		return "cost_price"
	case strings.HasPrefix(loc, "variants") && strings.Contains(loc, ".price"):
		return "price"
	case strings.HasPrefix(loc, "variants") && strings.Contains(loc, ".options"), strings.HasPrefix(loc, "options"):
		return "option1_value"
	case strings.HasPrefix(loc, "images"):
		return "image_url"
	case loc == "slug":
		return "handle"
	}
	return loc
}

// mergeAttributes is the product's attributes with the file's vendor,
// type and tags in place: other attributes (set in the admin) stay, and an
// empty cell removes its attribute.
func (p *productImporter) mergeAttributes(have, file map[string]string) map[string]string {
	out := maps.Clone(nonNil(have))
	if !p.has.attrs {
		return out
	}
	for _, a := range []string{"vendor", "type", "tags"} {
		if v, ok := file[a]; ok {
			out[a] = v
		} else {
			delete(out, a)
		}
	}
	return out
}

// same reports whether the catalog's product already is what the file
// says: then the import leaves it alone. A field the file has no column
// for, and the images of a product the file gives none, are not compared:
// the import leaves them as they are.
func (p *productImporter) same(h catalogapi.Product, w wanted) bool {
	if h.Title != w.title || (w.slug != "" && h.Slug != w.slug) {
		return false
	}
	if (p.has.desc && h.Description != w.desc) || (p.has.status && h.Status != w.status) {
		return false
	}
	if !maps.Equal(nonNil(h.Attributes), w.attributes) {
		return false
	}
	if len(h.Options) != len(w.options) || len(h.Variants) != len(w.variants) || (len(w.images) > 0 && len(h.Images) != len(w.images)) {
		return false
	}
	for i, o := range w.options {
		if h.Options[i].Name != o.Name || !slices.Equal(h.Options[i].Values, o.Values) {
			return false
		}
	}
	for i, v := range w.variants {
		hv := h.Variants[i]
		if hv.SKU != v.SKU || hv.Price != v.Price || !maps.Equal(nonNil(hv.Options), nonNil(v.Options)) || (v.Title != "" && hv.Title != v.Title) {
			return false
		}
		if p.has.cost && !sameCost(hv.CostPrice, v.CostPrice) {
			return false
		}
	}
	for i, img := range w.images {
		if len(h.Images) <= i || h.Images[i].URL != img.URL || h.Images[i].Alt != img.Alt {
			return false
		}
	}
	return true
}

// keepCosts gives the variants of a file without a cost column the cost
// prices the catalog has for their SKUs, so that an update leaves them.
func keepCosts(have catalogapi.Product, vs []catalogapi.VariantInput) {
	for i := range vs {
		for _, hv := range have.Variants {
			if hv.SKU == vs[i].SKU {
				vs[i].CostPrice = hv.CostPrice
			}
		}
	}
}

// sameCost reports whether two cost prices (nil: unknown) are the same.
func sameCost(a, b *int64) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
