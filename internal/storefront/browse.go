package storefront

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/page"
)

// browseRoutes: home, categories, product pages.
func (s *Service) browseRoutes(route routeFunc) {
	route("GET /{$}", s.kit.Shared(s.home))
	route("GET /c/{slug}", s.kit.Shared(s.category))
	route("GET /p/{slug}", s.kit.Shared(s.product))
}

// categoryPageSize is how many products a category page lists at a time:
// whole rows of 2, 3, 4 or 6 columns.
const categoryPageSize = 12

// firstRow is how many product pictures a grid loads at once; the rest
// load lazily (loading="lazy"), as they are below the first row on every
// screen but the widest.
const firstRow = 4

// imageSize is the width and height a product picture is drawn at (the
// demo pictures' size); the style sheet scales it, and the attributes
// keep the page from jumping while pictures load.
const imageSize = 480

// productCard is a product in a grid: its picture, title and price.
type productCard struct {
	ID, Slug, Title string
	Image           catalogapi.Image // URL empty: none
	// Srcset offers the picture's sizes when it has several (responsive).
	Srcset string
	Price  money.Money
	// From says the variants differ in price and Price is the lowest.
	From bool
	Lazy bool
	// Rating is the product's, when it has reviews (reviews.go).
	Rating *ratingView
}

func productCards(ps []catalogapi.Product) []productCard {
	out := make([]productCard, len(ps))
	for i, p := range ps {
		c := productCard{ID: p.ID, Slug: p.Slug, Title: p.Title, Price: p.PriceFrom, Lazy: i >= firstRow}
		if len(p.Images) > 0 {
			c.Image = p.Images[0]
			c.Image.URL, c.Srcset = responsive(c.Image.URL, mediaapi.SizeMedium)
		}
		for _, v := range p.Variants {
			if v.Price != p.PriceFrom {
				c.From = true
			}
		}
		out[i] = c
	}
	return out
}

// homeData is the home page's data; its categories are the layout's.
type homeData struct {
	Products []productCard
	Size     int
}

// home is the store's start page: its categories and newest products.
func (s *Service) home(w http.ResponseWriter, r *http.Request) {
	l, err := s.deps.Catalog.Products(r.Context(), catalogapi.ListParams{Limit: s.cfg.Featured, Sort: "newest"})
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v := s.view(r, "Home")
	cards := productCards(l.Items)
	s.rate(r.Context(), cards, v.Lang())
	v.Data = homeData{Products: cards, Size: imageSize}
	s.kit.Render(w, r, http.StatusOK, "home", v)
}

// sorts are the orders a category page offers: the catalog API's.
func sorts() []page.Option {
	return []page.Option{
		{Value: "newest", Label: "Newest first"},
		{Value: "price_asc", Label: "Price: low to high"},
		{Value: "price_desc", Label: "Price: high to low"},
		{Value: "title", Label: "Name: A to Z"},
	}
}

// categoryData is a category page's data.
type categoryData struct {
	Name, Slug, Description string
	Parent                  *navCategory
	Children                []navCategory
	Products                []productCard
	NextCursor              string
	Sorts                   []page.Option
	Sort                    string
	Filtered                bool
	Size                    int
}

// category lists a category's products (its descendants' too), sorted,
// filtered by price and a page at a time. The filter is a GET form, so a
// filtered page is a link; a price that is not one is marked and answered
// 422, with everything typed kept and the products listed without it.
func (s *Service) category(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tree, err := s.categories(ctx)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	cat, parent := findCategory(tree.Items, r.PathValue("slug"), nil)
	if cat == nil {
		s.kit.NotFound(w, r)
		return
	}
	form := page.EmptyForm(r.URL.Query())
	lp := catalogapi.ListParams{Limit: categoryPageSize, Category: cat.Slug, Cursor: form.Get("cursor"), Sort: "newest"}
	if sort := form.Get("sort"); slices.ContainsFunc(sorts(), func(o page.Option) bool { return o.Value == sort }) {
		lp.Sort = sort
	}
	st, _ := page.StoreOf(ctx)
	scale := money.Scale(st.Currency)
	price := func(name string) *int64 {
		typed := form.Get(name)
		if typed == "" {
			return nil
		}
		n, err := page.MinorUnits(typed, scale)
		if err != nil {
			form.Fail(name, err.Error())
			return nil
		}
		return &n
	}
	lp.MinPrice, lp.MaxPrice = price("min"), price("max")
	if lp.MinPrice != nil && lp.MaxPrice != nil && *lp.MaxPrice < *lp.MinPrice {
		form.Fail("max", "the highest price must not be below the lowest")
		lp.MaxPrice = nil
	}
	status := http.StatusOK
	if form.Invalid() {
		// The page still lists what the rest of the filter asks for, from
		// the first page: the cursor was made for the previous filter.
		status, lp.Cursor = http.StatusUnprocessableEntity, ""
	}
	l, err := s.deps.Catalog.Products(ctx, lp)
	if apiclient.IsCode(err, "invalid_cursor") {
		// A cursor of another sort, or an old link: start again.
		q := r.URL.Query()
		q.Del("cursor")
		target := r.URL.Path
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		s.kit.Redirect(w, r, target, "")
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v := s.viewWith(r, cat.Name, &tree, nil)
	v.Form = form
	d := categoryData{Name: cat.Name, Slug: cat.Slug, Description: cat.Description, Children: navCategories(cat.Children, 1),
		Products: productCards(l.Items), NextCursor: l.NextCursor, Sorts: sorts(), Sort: lp.Sort,
		Filtered: form.Get("min") != "" || form.Get("max") != "", Size: imageSize}
	if parent != nil {
		d.Parent = &navCategory{Slug: parent.Slug, Name: parent.Name}
	}
	s.rate(ctx, d.Products, v.Lang())
	v.Data = d
	s.kit.Render(w, r, status, "category", v)
}

// productData is a product page's data.
type productData struct {
	Product  catalogapi.Product
	Category *navCategory
	// Paragraphs are the description's, split at blank lines.
	Paragraphs []string
	Images     []productImage
	Variants   []variantChoice
	Chosen     variantChoice
	// Options are the chosen variant's option values, in the product's
	// order of options.
	Options    []page.Option
	Attributes []page.Option
	// MaxQuantity is the most the quantity field takes.
	MaxQuantity int64
	Size        int
	// Reviews are the product's rating and latest reviews (reviews.go);
	// nil without the review service.
	Reviews *productReviews
}

type productImage struct {
	URL, Alt string
	// Srcset offers the picture's sizes when it has several (responsive).
	Srcset string
	Lazy   bool
}

// variantChoice is a variant as the page offers it.
type variantChoice struct {
	SKU, Label string
	Price      money.Money
	Stock      stockState
	Chosen     bool
}

// stockState is what the page says of a variant's stock: nothing when the
// inventory did not answer (the checkout still checks).
type stockState struct {
	Known   bool
	SoldOut bool
	// Left is set when only a few are left.
	Left int64
}

func stockOf(a inventoryapi.Availability) stockState {
	st := stockState{Known: true, SoldOut: a.Status == inventoryapi.AvailabilitySoldOut}
	if a.Status == inventoryapi.AvailabilityFewLeft && a.Available != nil {
		st.Left = *a.Available
	}
	return st
}

// product shows an active product: pictures, description, the choice of
// variant (a GET form, so the chosen variant is a link: ?sku=…), its
// price and stock, and the add-to-cart form. The product may be named by
// ID too (the cart links so); that answers with its slug's address.
func (s *Service) product(w http.ResponseWriter, r *http.Request) {
	s.productPage(w, r, r.PathValue("slug"), r.URL.Query().Get("sku"), nil)
}

// productPage renders the product named by idOrSlug with the variant sku
// chosen (or the first that is not sold out). A refused add-to-cart form
// comes back here with its errors (status 422).
func (s *Service) productPage(w http.ResponseWriter, r *http.Request, idOrSlug, sku string, refused *page.Form) {
	ctx := r.Context()
	p, err := s.deps.Catalog.Product(ctx, idOrSlug)
	if errors.Is(err, catalogapi.ErrNotFound) || err == nil && (p.Status != catalogapi.StatusActive || len(p.Variants) == 0) {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if refused == nil && r.Method == http.MethodGet && idOrSlug != p.Slug {
		target := "/p/" + p.Slug
		if sku != "" {
			target += "?sku=" + url.QueryEscape(sku)
		}
		http.Redirect(w, r, target, http.StatusFound) // not permanent: the slug may change
		return
	}
	skus := make([]string, len(p.Variants))
	for i, vr := range p.Variants {
		skus[i] = vr.SKU
	}
	stock := map[string]stockState{}
	if avail, err := s.deps.Inventory.Availability(ctx, skus); err != nil {
		// Without the inventory the page still sells: the checkout
		// reserves the stock and refuses what is not there.
		s.log.WarnContext(ctx, "read availability", "product", p.Slug, "err", err)
	} else {
		for _, a := range avail.Items {
			stock[a.SKU] = stockOf(a)
		}
	}
	d := productData{Product: p, Paragraphs: paragraphs(p.Description), MaxQuantity: 10000, Size: imageSize}
	chosen := -1
	for i, vr := range p.Variants {
		c := variantChoice{SKU: vr.SKU, Label: variantLabel(p, vr), Price: vr.Price, Stock: stock[vr.SKU]}
		if vr.SKU == sku {
			chosen = i
		}
		d.Variants = append(d.Variants, c)
	}
	if chosen < 0 {
		chosen = 0
		for i, c := range d.Variants {
			if !c.Stock.SoldOut {
				chosen = i
				break
			}
		}
	}
	d.Variants[chosen].Chosen = true
	d.Chosen = d.Variants[chosen]
	if d.Chosen.Stock.Left > 0 {
		d.MaxQuantity = d.Chosen.Stock.Left
	}
	for _, o := range p.Options {
		if val, ok := p.Variants[chosen].Options[o.Name]; ok {
			d.Options = append(d.Options, page.Option{Value: val, Label: o.Name})
		}
	}
	keys := make([]string, 0, len(p.Attributes))
	for k := range p.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d.Attributes = append(d.Attributes, page.Option{Value: p.Attributes[k], Label: capitalize(k)})
	}
	for i, img := range p.Images {
		alt := img.Alt
		if alt == "" {
			alt = p.Title
		}
		src, srcset := responsive(img.URL, mediaapi.SizeLarge)
		d.Images = append(d.Images, productImage{URL: src, Alt: alt, Srcset: srcset, Lazy: i > 0})
	}
	tree, err := s.categories(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "read categories", "err", err)
	}
	if c := findCategoryByID(tree.Items, p.CategoryID); c != nil {
		d.Category = &navCategory{Slug: c.Slug, Name: c.Name}
	}
	v := s.viewWith(r, p.Title, &tree, nil)
	d.Reviews = s.productReviews(ctx, p.ID, v.Lang())
	v.Data = d
	status := http.StatusOK
	if refused != nil {
		v.Form, status = refused, http.StatusUnprocessableEntity
	}
	s.kit.Render(w, r, status, "product", v)
}

// variantLabel names a variant in the choice: its title, else its option
// values in the product's order of options, else its SKU.
func variantLabel(p catalogapi.Product, v catalogapi.Variant) string {
	if v.Title != "" {
		return v.Title
	}
	var vals []string
	for _, o := range p.Options {
		if val := v.Options[o.Name]; val != "" {
			vals = append(vals, val)
		}
	}
	if len(vals) > 0 {
		return strings.Join(vals, " / ")
	}
	return v.SKU
}

// paragraphs splits text at blank lines.
func paragraphs(text string) []string {
	var out []string
	for p := range strings.SplitSeq(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// capitalize upper-cases the first letter of an attribute's name.
func capitalize(s string) string {
	for i, c := range s {
		return strings.ToUpper(string(c)) + s[i+len(string(c)):]
	}
	return s
}
