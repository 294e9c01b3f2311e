package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/page"
)

func (s *Service) productRoutes(route routeFunc) {
	route("GET /admin/products", s.products)
	route("GET /admin/products/new", s.newProduct)
	route("POST /admin/products/new", s.createProduct)
	route("GET /admin/products/{id}", s.product)
	route("POST /admin/products/{id}", s.updateProduct)
	route("POST /admin/products/{id}/status", s.productStatus)
	route("POST /admin/products/{id}/archive", s.archiveProduct)
}

// productEditors are the roles catalog's access table lets change products
// (admin-create-product, -update-product, -archive-product: editors).
var productEditors = []string{"owner", "manager", "staff"}

// The product form's limits: option columns (catalog allows 5 options)
// and variant rows (catalog allows 100 variants).
const (
	minOptionCols = 2
	maxOptionCols = 5
	maxRows       = 100
	newRows       = 3 // blank variant rows of a new product
	spareRows     = 2 // blank rows under an edited product's variants
)

// productsData is the product list's own data.
type productsData struct {
	Items      []catalogapi.Product
	NextCursor string
	Status     string
	Statuses   []page.Option
}

var productStatuses = []page.Option{
	{Value: "", Label: "Any status"},
	{Value: string(catalogapi.StatusDraft), Label: "Draft"},
	{Value: string(catalogapi.StatusActive), Label: "Active"},
	{Value: string(catalogapi.StatusArchived), Label: "Archived"},
}

// products lists the store's products, newest first, by status.
func (s *Service) products(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	q := r.URL.Query()
	status := q.Get("status")
	switch catalogapi.Status(status) {
	case "", catalogapi.StatusDraft, catalogapi.StatusActive, catalogapi.StatusArchived:
	default:
		status = ""
	}
	list, err := s.deps.Catalog.AdminProducts(ctx, catalogapi.AdminListParams{Status: catalogapi.Status(status), Cursor: q.Get("cursor"), Limit: 25})
	if apiclient.IsCode(err, "invalid_cursor") {
		// A cursor from an old link: start again at the first page.
		s.kit.Redirect(w, r, "/admin/products?status="+url.QueryEscape(status), "")
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v, err := s.view(r, "Products")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data = productsData{Items: list.Items, NextCursor: list.NextCursor, Status: status, Statuses: productStatuses}
	s.kit.Render(w, r, http.StatusOK, "products", v)
}

// productData is the data of the product form, new or edited.
type productData struct {
	// Product is the product edited (nil: a new one).
	Product *catalogapi.Product
	// Options are the option columns' indexes; OptionNames their names as
	// last saved (for the value fields' labels).
	Options     []int
	OptionNames []string
	Rows        []variantRow
	Categories  []page.Option
	Statuses    []page.Option
	Currency    string
	CanEdit     bool
	// Images are the product's pictures; CanUpload says the visitor may
	// add one with ImageForm (media.go).
	Images      []adminImage
	CanUpload   bool
	ImageForm   *page.Form
	UploadLimit string
}

// variantRow is a row of the variant fields: its field names start with
// Prefix ("v0.").
type variantRow struct {
	N      int
	Prefix string
	// Saved says the row is one of the product's variants (it can be
	// removed).
	Saved bool
}

var newStatuses = []page.Option{
	{Value: string(catalogapi.StatusDraft), Label: "Draft: not in the shop yet"},
	{Value: string(catalogapi.StatusActive), Label: "Active: in the shop"},
}

func (s *Service) newProduct(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.EmptyForm(url.Values{"status": {string(catalogapi.StatusDraft)}})
	s.renderProduct(w, r, ctx, http.StatusOK, nil, f, newRows, minOptionCols)
}

// createProduct creates a product from the form; the form's
// Idempotency-Key makes a resent form create it once.
func (s *Service) createProduct(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	st, _ := page.StoreOf(r.Context())
	in := readProductForm(f, st.Currency)
	if f.Invalid() {
		s.renderProduct(w, r, ctx, http.StatusUnprocessableEntity, nil, f, in.rowCount, in.optionCols)
		return
	}
	status := catalogapi.Status(f.Get("status"))
	if status != catalogapi.StatusActive {
		status = catalogapi.StatusDraft
	}
	p, err := s.deps.Catalog.CreateProduct(ctx, catalogapi.ProductCreate{
		Title: in.title, Slug: in.slug, Description: in.description, Status: status, CategoryID: in.category,
		Options: in.options, Variants: in.variants,
	}, f.Key())
	if err != nil {
		if refused(f, err, in.fields) {
			s.renderProduct(w, r, ctx, http.StatusUnprocessableEntity, nil, f, in.rowCount, in.optionCols)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/products/"+url.PathEscape(p.ID), "Product “"+p.Title+"” created.")
}

// loadProduct reads the product of the path; an unknown ID (or another
// store's) is the 404 page.
func (s *Service) loadProduct(w http.ResponseWriter, r *http.Request) (context.Context, *catalogapi.Product, bool) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return nil, nil, false
	}
	p, err := s.deps.Catalog.AdminProduct(ctx, r.PathValue("id"))
	if errors.Is(err, catalogapi.ErrNotFound) || apiclient.IsStatus(err, http.StatusUnprocessableEntity) {
		s.kit.NotFound(w, r)
		return nil, nil, false
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return nil, nil, false
	}
	return ctx, &p, true
}

func (s *Service) product(w http.ResponseWriter, r *http.Request) {
	ctx, p, ok := s.loadProduct(w, r)
	if !ok {
		return
	}
	s.renderProduct(w, r, ctx, http.StatusOK, p, page.EmptyForm(productValues(p)), len(p.Variants)+spareRows, optionCols(len(p.Options)))
}

// updateProduct saves the form: its fields, and the variants as listed
// (variants keep their IDs by SKU; a removed row's variant is gone).
func (s *Service) updateProduct(w http.ResponseWriter, r *http.Request) {
	ctx, p, ok := s.loadProduct(w, r)
	if !ok {
		return
	}
	f := page.ParseForm(w, r)
	st, _ := page.StoreOf(r.Context())
	in := readProductForm(f, st.Currency)
	if f.Invalid() {
		s.renderProduct(w, r, ctx, http.StatusUnprocessableEntity, p, f, in.rowCount, in.optionCols)
		return
	}
	u := catalogapi.ProductUpdate{Title: &in.title, Description: &in.description, CategoryID: &in.category,
		Options: in.options, Variants: in.variants}
	if in.slug != "" {
		u.Slug = &in.slug
	}
	saved, err := s.deps.Catalog.UpdateProduct(ctx, p.ID, u)
	if err != nil {
		if refused(f, err, in.fields) {
			s.renderProduct(w, r, ctx, http.StatusUnprocessableEntity, p, f, in.rowCount, in.optionCols)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/products/"+url.PathEscape(saved.ID), "Product saved.")
}

// productStatus publishes a product (active), takes it out of the shop
// (draft), or brings an archived one back as a draft.
func (s *Service) productStatus(w http.ResponseWriter, r *http.Request) {
	ctx, p, ok := s.loadProduct(w, r)
	if !ok {
		return
	}
	f := page.ParseForm(w, r)
	status := catalogapi.Status(f.Get("status"))
	var flash string
	switch status {
	case catalogapi.StatusActive:
		flash = "Published: the product is in the shop."
	case catalogapi.StatusDraft:
		flash = "The product is a draft: it is no longer in the shop."
	default:
		s.kit.Redirect(w, r, "/admin/products/"+url.PathEscape(p.ID), "")
		return
	}
	if _, err := s.deps.Catalog.UpdateProduct(ctx, p.ID, catalogapi.ProductUpdate{Status: &status}); err != nil {
		if ae, refused := apiclient.Refused(err); refused && ae.Status != http.StatusForbidden && ae.Status != http.StatusNotFound {
			s.kit.Redirect(w, r, "/admin/products/"+url.PathEscape(p.ID), "Not changed: "+ae.Detail)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/products/"+url.PathEscape(p.ID), flash)
}

// archiveProduct archives a product: it leaves the shop and the lists of
// active products; products are never deleted.
func (s *Service) archiveProduct(w http.ResponseWriter, r *http.Request) {
	ctx, p, ok := s.loadProduct(w, r)
	if !ok {
		return
	}
	if err := s.deps.Catalog.ArchiveProduct(ctx, p.ID); err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Redirect(w, r, "/admin/products/"+url.PathEscape(p.ID), "Archived: the product is no longer in the shop.")
}

// renderProduct renders the product form (p nil: a new product) with
// rows variant rows and cols option columns.
func (s *Service) renderProduct(w http.ResponseWriter, r *http.Request, ctx context.Context, status int, p *catalogapi.Product, f *page.Form, rows, cols int) {
	s.renderProductWith(w, r, ctx, status, p, f, rows, cols, nil)
}

// renderProductWith is renderProduct with the image upload form as sent
// (nil: an empty one).
func (s *Service) renderProductWith(w http.ResponseWriter, r *http.Request, ctx context.Context, status int, p *catalogapi.Product, f *page.Form, rows, cols int, img *page.Form) {
	cats, err := s.deps.Catalog.AdminCategories(ctx)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	title := "New product"
	if p != nil {
		title = p.Title
	}
	v, err := s.view(r, title)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Form = f
	d := productData{Product: p, Currency: v.Store.Currency, CanEdit: v.Can(productEditors...), Statuses: newStatuses,
		Images: adminImages(p), CanUpload: p != nil && s.canUpload(v), ImageForm: img, UploadLimit: megabytes(s.cfg.MaxUpload)}
	if d.ImageForm == nil {
		d.ImageForm = page.EmptyForm(nil)
	}
	d.Categories = append(d.Categories, page.Option{Value: "", Label: "No category"})
	for _, c := range cats.Items {
		d.Categories = append(d.Categories, page.Option{Value: c.ID, Label: c.Name})
	}
	for j := range cols {
		d.Options = append(d.Options, j)
		name := ""
		if p != nil && j < len(p.Options) {
			name = p.Options[j].Name
		}
		d.OptionNames = append(d.OptionNames, name)
	}
	saved := 0
	if p != nil {
		saved = len(p.Variants)
	}
	for i := range min(rows, maxRows) {
		d.Rows = append(d.Rows, variantRow{N: i, Prefix: "v" + strconv.Itoa(i) + ".", Saved: i < saved})
	}
	v.Data = d
	s.kit.Render(w, r, status, "product", v)
}

// optionCols is how many option columns a product with n options gets.
func optionCols(n int) int { return min(max(n, minOptionCols), maxOptionCols) }

// productValues are the form fields of a saved product.
func productValues(p *catalogapi.Product) url.Values {
	v := url.Values{}
	v.Set("title", p.Title)
	v.Set("slug", p.Slug)
	v.Set("description", p.Description)
	v.Set("category", p.CategoryID)
	v.Set("rows", strconv.Itoa(len(p.Variants)+spareRows))
	v.Set("options", strconv.Itoa(optionCols(len(p.Options))))
	for j, o := range p.Options {
		v.Set(fmt.Sprintf("opt%d", j), o.Name)
	}
	for i, vr := range p.Variants {
		pre := "v" + strconv.Itoa(i) + "."
		v.Set(pre+"sku", vr.SKU)
		v.Set(pre+"title", vr.Title)
		v.Set(pre+"price", page.FormatDecimal(vr.Price.Amount, money.Scale(vr.Price.Currency)))
		if vr.CostPrice != nil {
			v.Set(pre+"cost", page.FormatDecimal(*vr.CostPrice, money.Scale(vr.Price.Currency)))
		}
		for j, o := range p.Options {
			v.Set(fmt.Sprintf("%so%d", pre, j), vr.Options[o.Name])
		}
	}
	return v
}

// productInput is the product form read: what to send to the catalog, and
// where its answer's field errors go on the form.
type productInput struct {
	title, slug, description, category string
	options                            []catalogapi.Option
	variants                           []catalogapi.VariantInput
	// fields maps the API's error locations to the form's fields.
	fields               map[string]string
	rowCount, optionCols int
}

// readProductForm reads the product form, marking what is missing or not
// a price; prices are decimals in the store's currency.
func readProductForm(f *page.Form, currency string) productInput {
	in := productInput{
		title: f.Get("title"), slug: f.Get("slug"), description: f.Get("description"), category: f.Get("category"),
		fields: map[string]string{"category_id": "category", "options": "opt0"},
	}
	in.rowCount = formInt(f, "rows", newRows, 1, maxRows)
	in.optionCols = formInt(f, "options", minOptionCols, minOptionCols, maxOptionCols)
	if in.title == "" {
		f.Fail("title", "Enter the product's title.")
	}
	// The option columns with a name, in order; sent[k] is the column of
	// the k-th option sent.
	var names []string
	var cols []int
	for j := range in.optionCols {
		if name := f.Get(fmt.Sprintf("opt%d", j)); name != "" {
			in.fields[fmt.Sprintf("options[%d].name", len(cols))] = fmt.Sprintf("opt%d", j)
			in.fields[fmt.Sprintf("options[%d].values", len(cols))] = fmt.Sprintf("opt%d", j)
			names = append(names, name)
			cols = append(cols, j)
		}
	}
	values := make([][]string, len(cols))
	scale := money.Scale(currency)
	for i := range in.rowCount {
		pre := "v" + strconv.Itoa(i) + "."
		sku, title, price, cost := f.Get(pre+"sku"), f.Get(pre+"title"), f.Get(pre+"price"), f.Get(pre+"cost")
		opts := map[string]string{}
		anyOpt := false
		for j := range in.optionCols {
			if val := f.Get(fmt.Sprintf("%so%d", pre, j)); val != "" {
				anyOpt = true
				if f.Get(fmt.Sprintf("opt%d", j)) == "" {
					f.Fail(fmt.Sprintf("opt%d", j), "Name this option: a variant has a value for it.")
				}
			}
		}
		if f.Has(pre+"remove") || sku == "" && title == "" && price == "" && cost == "" && !anyOpt {
			continue // removed, or a blank row
		}
		if sku == "" {
			f.Fail(pre+"sku", "Enter the variant's SKU.")
		}
		minor, err := page.MinorUnits(price, scale)
		if err != nil {
			f.Fail(pre+"price", capitalize(err.Error())+".")
		}
		// The cost price is optional: blank leaves it unknown.
		var costPrice *int64
		if cost != "" {
			c, err := page.MinorUnits(cost, scale)
			if err != nil {
				f.Fail(pre+"cost", capitalize(err.Error())+".")
			}
			costPrice = &c
		}
		for k, j := range cols {
			val := f.Get(fmt.Sprintf("%so%d", pre, j))
			if val == "" {
				continue // the catalog says which option lacks a value
			}
			opts[names[k]] = val
			if !slices.Contains(values[k], val) {
				values[k] = append(values[k], val)
			}
		}
		k := len(in.variants)
		in.fields[fmt.Sprintf("variants[%d].cost_price", k)] = pre + "cost"
		for _, field := range []string{"sku", "title", "price", "price.amount", "price.currency"} {
			target := field
			if strings.HasPrefix(field, "price") {
				target = "price"
			}
			in.fields[fmt.Sprintf("variants[%d].%s", k, field)] = pre + target
		}
		in.fields[fmt.Sprintf("variants[%d]", k)] = pre + "sku"
		in.fields[fmt.Sprintf("variants[%d].options", k)] = pre + "o" + strconv.Itoa(firstCol(cols))
		if k == 0 {
			in.fields["variants"] = pre + "sku"
		}
		vi := catalogapi.VariantInput{SKU: sku, Title: title, Price: money.Money{Amount: minor, Currency: currency}, CostPrice: costPrice}
		if len(opts) > 0 {
			vi.Options = opts
		}
		in.variants = append(in.variants, vi)
	}
	if len(in.variants) == 0 && !f.Invalid() {
		f.Fail("v0.sku", "Add at least one variant: its SKU and price.")
	}
	for k, name := range names {
		if len(values[k]) > 0 {
			in.options = append(in.options, catalogapi.Option{Name: name, Values: values[k]})
			for i := range values[k] {
				in.fields[fmt.Sprintf("options[%d].values[%d]", len(in.options)-1, i)] = fmt.Sprintf("opt%d", cols[k])
			}
		} else {
			f.Fail(fmt.Sprintf("opt%d", cols[k]), "Give the variants a value of this option, or clear its name.")
		}
	}
	return in
}

func firstCol(cols []int) int {
	if len(cols) == 0 {
		return 0
	}
	return cols[0]
}

// refused is f.Refused, in words for people: when the API marked fields,
// the form's message is the page's usual one rather than the API's
// summary, and a pattern a SKU or slug did not match is said plainly.
func refused(f *page.Form, err error, fields map[string]string) bool {
	if !f.Refused(err, fields) {
		return false
	}
	if len(f.Errors) > 0 {
		f.Message = ""
	}
	for name, msg := range f.Errors {
		if !strings.Contains(msg, "pattern") {
			continue
		}
		switch {
		case strings.HasSuffix(name, ".sku"):
			f.Errors[name] = "Use letters, digits, '.', '_' and '-', starting with a letter or digit."
		case name == "slug":
			f.Errors[name] = "Use lowercase letters and digits, with single dashes between them."
		}
	}
	return true
}

// formInt reads a whole number field between lo and hi, or def.
func formInt(f *page.Form, name string, def, lo, hi int) int {
	n, err := strconv.Atoi(f.Get(name))
	if err != nil {
		return def
	}
	return min(max(n, lo), hi)
}

// capitalize makes a message's first letter upper case.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
