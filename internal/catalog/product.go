package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/catalog/catalogdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// Limits a product must keep. Request schemas state most of them too; they
// are checked here again because not every product comes through HTTP
// (demo data, imports).
const (
	maxTitle       = text.MaxTitle
	maxDescription = 20000
	maxSlug        = 100
	maxVariants    = 100
	maxOptions     = 5
	maxOptionVals  = 50
	maxAttributes  = 50
	maxImages      = 20
	// MaxPrice bounds a variant price in minor units (a billion euros), far
	// from int64 overflow when prices are summed into orders.
	MaxPrice = 100_000_000_000
)

// Slugify makes a URL name from a title: accents dropped, lowercase ASCII
// letters and digits, words joined by single dashes, at most 80 characters
// (leaving room for a -N suffix). A title with nothing usable gives fallback.
func Slugify(title, fallback string) string {
	var b strings.Builder
	dash := false
	// NFKD splits "é" into "e" plus a combining accent, which is dropped.
	for _, r := range norm.NFKD.String(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r >= 'A' && r <= 'Z':
			b.WriteRune(unicode.ToLower(r))
			dash = false
		case unicode.Is(unicode.Mn, r):
		case r == 'ß':
			b.WriteString("ss")
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
		if b.Len() >= 80 {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 80 {
		s = strings.TrimRight(s[:80], "-")
	}
	if s == "" {
		return fallback
	}
	return s
}

// nextSlug returns base, or base-2, base-3… whichever is the first not in
// taken. taken holds base and the slugs starting with "base-".
func nextSlug(base string, taken []string) string {
	used := make(map[string]bool, len(taken))
	for _, t := range taken {
		used[t] = true
	}
	if !used[base] {
		return base
	}
	for n := 2; ; n++ {
		s := base + "-" + strconv.Itoa(n)
		if !used[s] {
			return s
		}
	}
}

// CanTransition reports whether a product may go from one status to
// another. Archived products go back only to draft, so a product archived
// long ago is looked at again before it is public.
func CanTransition(from, to catalogapi.Status) bool {
	if from == to {
		return true
	}
	switch from {
	case catalogapi.StatusDraft:
		return to == catalogapi.StatusActive || to == catalogapi.StatusArchived
	case catalogapi.StatusActive:
		return to == catalogapi.StatusDraft || to == catalogapi.StatusArchived
	case catalogapi.StatusArchived:
		return to == catalogapi.StatusDraft
	}
	return false
}

// newProduct builds a product from a create request. The slug, when not
// given, is the slugified title: the store makes it unique.
func newProduct(in catalogapi.ProductCreate, newID func() string, now time.Time) (catalogapi.Product, error) {
	now = now.UTC().Truncate(time.Microsecond)
	p := catalogapi.Product{
		ID:          newID(),
		Slug:        in.Slug,
		Title:       strings.TrimSpace(in.Title),
		Description: in.Description,
		Status:      in.Status,
		CategoryID:  in.CategoryID,
		Options:     in.Options,
		Attributes:  in.Attributes,
		Images:      in.Images,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if p.Status == "" {
		p.Status = catalogapi.StatusDraft
	}
	if p.Status == catalogapi.StatusArchived {
		return p, kit.Invalid(ErrInvalid, kit.FieldError{Field: "status", Message: "a new product is draft or active", Value: p.Status})
	}
	if p.Slug == "" {
		p.Slug = Slugify(p.Title, "product")
	}
	p.Variants = buildVariants(in.Variants, nil, newID)
	if len(p.Options) == 0 {
		p.Options = deriveOptions(p.Variants)
	}
	normalize(&p)
	return p, validateProduct(p)
}

// patchProduct applies a partial update to p. changed is false when the
// update leaves the product as it was, so no write or event is needed.
func patchProduct(p catalogapi.Product, in catalogapi.ProductUpdate, newID func() string, now time.Time) (_ catalogapi.Product, changed bool, _ error) {
	old := p
	// Slices and maps are replaced, never edited in place: old stays intact.
	if in.Title != nil {
		p.Title = strings.TrimSpace(*in.Title)
	}
	if in.Slug != nil {
		p.Slug = *in.Slug
	}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if in.Status != nil {
		if !CanTransition(p.Status, *in.Status) {
			return old, false, fmt.Errorf("%w: %s to %s", ErrTransition, p.Status, *in.Status)
		}
		p.Status = *in.Status
	}
	if in.CategoryID != nil {
		p.CategoryID = *in.CategoryID
	}
	if in.Attributes != nil {
		p.Attributes = in.Attributes
	}
	if in.Images != nil {
		p.Images = in.Images
	}
	if in.Variants != nil {
		p.Variants = buildVariants(in.Variants, old.Variants, newID)
	}
	switch {
	case in.Options != nil:
		p.Options = in.Options
	case in.Variants != nil:
		// New variants may use new option values: derive again unless the
		// request says which options there are.
		p.Options = deriveOptions(p.Variants)
	}
	normalize(&p)
	if err := validateProduct(p); err != nil {
		return old, false, err
	}
	p.UpdatedAt = old.UpdatedAt
	if reflect.DeepEqual(p, old) {
		return old, false, nil
	}
	p.UpdatedAt = now.UTC().Truncate(time.Microsecond)
	if !p.UpdatedAt.After(old.UpdatedAt) {
		// updated_at doubles as the row version: it must move on.
		p.UpdatedAt = old.UpdatedAt.Add(time.Microsecond)
	}
	return p, true, nil
}

// buildVariants turns request variants into variants, keeping the ID of an
// existing variant with the same SKU.
func buildVariants(in []catalogapi.VariantInput, existing []catalogapi.Variant, newID func() string) []catalogapi.Variant {
	ids := make(map[string]string, len(existing))
	for _, v := range existing {
		ids[v.SKU] = v.ID
	}
	out := make([]catalogapi.Variant, len(in))
	for i, v := range in {
		id, ok := ids[v.SKU]
		if !ok {
			id = newID()
		}
		out[i] = catalogapi.Variant{ID: id, SKU: v.SKU, Title: strings.TrimSpace(v.Title), Price: v.Price, Options: v.Options, CostPrice: v.CostPrice}
	}
	return out
}

// deriveOptions lists the option names the variants use (sorted, as maps
// have no order) with their values in order of first use.
func deriveOptions(vs []catalogapi.Variant) []catalogapi.Option {
	var names []string
	values := map[string][]string{}
	for _, v := range vs {
		for _, name := range slices.Sorted(maps.Keys(v.Options)) {
			if _, ok := values[name]; !ok {
				names = append(names, name)
				values[name] = nil
			}
			if val := v.Options[name]; !slices.Contains(values[name], val) {
				values[name] = append(values[name], val)
			}
		}
	}
	slices.Sort(names)
	out := make([]catalogapi.Option, 0, len(names))
	for _, n := range names {
		out = append(out, catalogapi.Option{Name: n, Values: values[n]})
	}
	return out
}

// normalize gives every collection a non-nil value (so JSON shows [] and {}
// rather than null) and untitled variants a title made of their options.
func normalize(p *catalogapi.Product) {
	if p.Options == nil {
		p.Options = []catalogapi.Option{}
	}
	if p.Variants == nil {
		p.Variants = []catalogapi.Variant{}
	}
	if p.Attributes == nil {
		p.Attributes = map[string]string{}
	}
	if p.Images == nil {
		p.Images = []catalogapi.Image{}
	}
	for i := range p.Variants {
		v := &p.Variants[i]
		if v.Options == nil {
			v.Options = map[string]string{}
		}
		if v.Title == "" {
			v.Title = variantTitle(p.Options, v.Options)
		}
	}
	p.PriceFrom = priceFrom(p.Variants)
}

func variantTitle(opts []catalogapi.Option, vals map[string]string) string {
	var parts []string
	for _, o := range opts {
		if v, ok := vals[o.Name]; ok {
			parts = append(parts, v)
		}
	}
	if len(parts) == 0 {
		return "Default"
	}
	return strings.Join(parts, " / ")
}

// priceFrom is the lowest variant price: what lists show ("from €12") and
// what the price filters and sorts compare.
func priceFrom(vs []catalogapi.Variant) money.Money {
	if len(vs) == 0 {
		return money.Money{}
	}
	m := vs[0].Price
	for _, v := range vs[1:] {
		if v.Price.Amount < m.Amount {
			m = v.Price
		}
	}
	return m
}

// validateProduct checks every rule a stored product keeps, naming each
// broken field by its path in a request body.
func validateProduct(p catalogapi.Product) error {
	var errs []kit.FieldError
	add := func(field, msg string, value any) {
		errs = append(errs, kit.FieldError{Field: field, Message: msg, Value: value})
	}
	if err := text.Line(p.Title, maxTitle, true); err != nil {
		add("title", err.Error(), p.Title)
	}
	if err := text.Slug(p.Slug); err != nil {
		add("slug", err.Error(), p.Slug)
	}
	if err := text.Lines(p.Description, maxDescription, false); err != nil {
		add("description", err.Error(), nil)
	}
	switch p.Status {
	case catalogapi.StatusDraft, catalogapi.StatusActive, catalogapi.StatusArchived:
	default:
		add("status", "must be draft, active or archived", p.Status)
	}
	errs = append(errs, validateOptions(p.Options)...)
	errs = append(errs, validateVariants(p.Variants, p.Options)...)
	if len(p.Attributes) > maxAttributes {
		add("attributes", fmt.Sprintf("at most %d attributes", maxAttributes), len(p.Attributes))
	}
	for _, k := range slices.Sorted(maps.Keys(p.Attributes)) {
		if err := text.Line(k, 50, true); err != nil {
			add("attributes", "names "+err.Error(), k)
		}
		if err := text.Line(p.Attributes[k], 500, false); err != nil {
			add("attributes."+k, err.Error(), nil)
		}
	}
	if len(p.Images) > maxImages {
		add("images", fmt.Sprintf("at most %d images", maxImages), len(p.Images))
	}
	for i, img := range p.Images {
		u := img.URL
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") && (!strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//")) ||
			text.Chars(u, false) != nil {
			add(fmt.Sprintf("images[%d].url", i), "must be an http(s) URL or a path starting with /", u)
		}
		if err := text.Line(img.Alt, 300, false); err != nil {
			add(fmt.Sprintf("images[%d].alt", i), err.Error(), nil)
		}
	}
	return kit.Invalid(ErrInvalid, errs...)
}

func validateOptions(opts []catalogapi.Option) []kit.FieldError {
	var errs []kit.FieldError
	if len(opts) > maxOptions {
		errs = append(errs, kit.FieldError{Field: "options", Message: fmt.Sprintf("at most %d options", maxOptions), Value: len(opts)})
	}
	names := map[string]bool{}
	for i, o := range opts {
		if err := text.Line(o.Name, 50, true); err != nil {
			errs = append(errs, kit.FieldError{Field: fmt.Sprintf("options[%d].name", i), Message: err.Error(), Value: o.Name})
		} else if names[o.Name] {
			errs = append(errs, kit.FieldError{Field: fmt.Sprintf("options[%d].name", i), Message: "must be unique", Value: o.Name})
		}
		names[o.Name] = true
		if len(o.Values) == 0 || len(o.Values) > maxOptionVals {
			errs = append(errs, kit.FieldError{Field: fmt.Sprintf("options[%d].values", i), Message: fmt.Sprintf("must have 1 to %d values", maxOptionVals), Value: len(o.Values)})
		}
		seen := map[string]bool{}
		for j, v := range o.Values {
			if err := text.Line(v, 100, true); err != nil {
				errs = append(errs, kit.FieldError{Field: fmt.Sprintf("options[%d].values[%d]", i, j), Message: err.Error(), Value: v})
			} else if seen[v] {
				errs = append(errs, kit.FieldError{Field: fmt.Sprintf("options[%d].values[%d]", i, j), Message: "must be unique", Value: v})
			}
			seen[v] = true
		}
	}
	return errs
}

func validateVariants(vs []catalogapi.Variant, opts []catalogapi.Option) []kit.FieldError {
	var errs []kit.FieldError
	add := func(field, msg string, value any) {
		errs = append(errs, kit.FieldError{Field: field, Message: msg, Value: value})
	}
	if len(vs) == 0 || len(vs) > maxVariants {
		add("variants", fmt.Sprintf("must have 1 to %d variants", maxVariants), len(vs))
	}
	skus := map[string]int{}
	combos := map[string]int{}
	for i, v := range vs {
		at := func(f string) string { return fmt.Sprintf("variants[%d].%s", i, f) }
		switch err := text.SKU(v.SKU); {
		case err != nil:
			add(at("sku"), err.Error(), v.SKU)
		case skus[v.SKU] > 0:
			add(at("sku"), fmt.Sprintf("duplicate SKU: also variants[%d]", skus[v.SKU]-1), v.SKU)
		default:
			skus[v.SKU] = i + 1
		}
		if v.Price.Amount < 0 || v.Price.Amount > MaxPrice {
			add(at("price.amount"), fmt.Sprintf("must be between 0 and %d minor units", int64(MaxPrice)), v.Price.Amount)
		}
		if err := money.ValidCurrency(v.Price.Currency); err != nil {
			add(at("price.currency"), "unknown ISO 4217 currency", v.Price.Currency)
		} else if i > 0 && v.Price.Currency != vs[0].Price.Currency {
			add(at("price.currency"), "all variants of a product use one currency", v.Price.Currency)
		}
		if err := text.Line(v.Title, maxTitle, false); err != nil {
			add(at("title"), err.Error(), nil)
		}
		if msg := checkVariantOptions(v.Options, opts); msg != "" {
			add(at("options"), msg, v.Options)
			continue
		}
		if len(opts) > 0 {
			key := comboKey(v.Options, opts)
			if j, dup := combos[key]; dup {
				add(at("options"), fmt.Sprintf("same options as variants[%d]", j), v.Options)
			} else {
				combos[key] = i
			}
		}
	}
	return errs
}

// checkVariantOptions says what is wrong with a variant's option values:
// each product option needs a value from its list, and nothing else.
func checkVariantOptions(vals map[string]string, opts []catalogapi.Option) string {
	for _, o := range opts {
		v, ok := vals[o.Name]
		if !ok {
			return fmt.Sprintf("needs a value for option %q", o.Name)
		}
		if !slices.Contains(o.Values, v) {
			return fmt.Sprintf("%q is not a value of option %q", v, o.Name)
		}
	}
	if len(vals) > len(opts) {
		return "names an option the product does not have"
	}
	return ""
}

func comboKey(vals map[string]string, opts []catalogapi.Option) string {
	var b strings.Builder
	for _, o := range opts {
		b.WriteString(vals[o.Name])
		b.WriteByte(0)
	}
	return b.String()
}

// CreateProduct creates a product for the tenant in ctx and announces it.
func (s *Service) CreateProduct(ctx context.Context, in catalogapi.ProductCreate) (catalogapi.Product, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Product{}, err
	}
	p, err := newProduct(in, kit.NewID, s.now())
	if err != nil {
		return catalogapi.Product{}, err
	}
	if err := s.checkCurrency(ctx, in.Variants); err != nil {
		return catalogapi.Product{}, fmt.Errorf("create product: %w", err)
	}
	base := p.Slug
	limits, err := tenantapi.ReadLimits(ctx, s.limits, tenantapi.ResourceProducts, ErrLimitsUnavailable)
	if err != nil {
		return catalogapi.Product{}, fmt.Errorf("create product: %w", err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *catalogdb.Queries) error {
		if err := s.roomForOne(ctx, q, tenant, limits); err != nil {
			return err
		}
		if p.CategoryID != "" {
			if err := categoryExists(ctx, q, tenant, p.CategoryID, "category_id"); err != nil {
				return err
			}
		}
		slug, err := settleSlug(ctx, productSlugs(q, tenant), p.ID, base, in.Slug != "")
		if err != nil {
			return err
		}
		p.Slug = slug
		if err := checkSKUs(ctx, q, tenant, p); err != nil {
			return err
		}
		if err := insertProduct(ctx, q, tenant, p); err != nil {
			return err
		}
		cat, err := categoryRef(ctx, q, tenant, p.CategoryID)
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, catalogapi.SubjectProductCreated, p.CreatedAt, catalogapi.ProductCreated{Product: p, Category: cat})
	})
	if err != nil {
		return catalogapi.Product{}, fmt.Errorf("create product: %w", err)
	}
	s.log.DebugContext(ctx, "product created", "tenant", tenant, "product_id", p.ID)
	return p, nil
}

// UpdateProduct applies a partial update to a product of any status and
// announces it: as archived when the update archives it, else as updated.
// An update that changes nothing writes and announces nothing.
func (s *Service) UpdateProduct(ctx context.Context, id string, in catalogapi.ProductUpdate) (catalogapi.Product, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Product{}, err
	}
	if err := s.checkCurrency(ctx, in.Variants); err != nil {
		return catalogapi.Product{}, fmt.Errorf("update product %s: %w", id, err)
	}
	var limits *tenantapi.Limits
	if in.Status != nil && *in.Status != catalogapi.StatusArchived {
		// It may bring an archived product back: that counts as one more.
		if limits, err = tenantapi.ReadLimits(ctx, s.limits, tenantapi.ResourceProducts, ErrLimitsUnavailable); err != nil {
			return catalogapi.Product{}, fmt.Errorf("update product %s: %w", id, err)
		}
	}
	var p catalogapi.Product
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *catalogdb.Queries) error {
		old, err := s.store.product(ctx, q, tenant, id)
		if err != nil {
			return err
		}
		var changed bool
		p, changed, err = patchProduct(old, in, kit.NewID, s.now())
		if err != nil || !changed {
			return err
		}
		if old.Status == catalogapi.StatusArchived && p.Status != catalogapi.StatusArchived {
			if err := s.roomForOne(ctx, q, tenant, limits); err != nil {
				return err
			}
		}
		if p.CategoryID != "" && p.CategoryID != old.CategoryID {
			if err := categoryExists(ctx, q, tenant, p.CategoryID, "category_id"); err != nil {
				return err
			}
		}
		if p.Slug != old.Slug {
			if _, err := settleSlug(ctx, productSlugs(q, tenant), p.ID, p.Slug, true); err != nil {
				return err
			}
		}
		if err := checkSKUs(ctx, q, tenant, p); err != nil {
			return err
		}
		if err := updateProduct(ctx, q, tenant, old, p); err != nil {
			return err
		}
		cat, err := categoryRef(ctx, q, tenant, p.CategoryID)
		if err != nil {
			return err
		}
		if p.Status == catalogapi.StatusArchived && old.Status != catalogapi.StatusArchived {
			return addEvent(ctx, tx, catalogapi.SubjectProductArchived, p.UpdatedAt, catalogapi.ProductArchived{Product: p, Category: cat})
		}
		return addEvent(ctx, tx, catalogapi.SubjectProductUpdated, p.UpdatedAt, catalogapi.ProductUpdated{Product: p, Category: cat})
	})
	if err != nil {
		return catalogapi.Product{}, fmt.Errorf("update product %s: %w", id, err)
	}
	return p, nil
}

// ArchiveProduct archives a product (the admin DELETE): it leaves the public
// catalog, its SKUs stay reserved. Archiving an archived product is a no-op.
func (s *Service) ArchiveProduct(ctx context.Context, id string) (catalogapi.Product, error) {
	archived := catalogapi.StatusArchived
	p, err := s.UpdateProduct(ctx, id, catalogapi.ProductUpdate{Status: &archived})
	if err != nil {
		return p, err
	}
	s.log.DebugContext(ctx, "product archived", "product_id", id)
	return p, nil
}

// Product returns a product of any status by ID (admin).
func (s *Service) Product(ctx context.Context, id string) (catalogapi.Product, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Product{}, err
	}
	return s.store.readProduct(ctx, tenant, id)
}

// PublicProduct returns an active product by ID or slug.
func (s *Service) PublicProduct(ctx context.Context, idOrSlug string) (catalogapi.Product, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return catalogapi.Product{}, err
	}
	p, err := s.store.activeProduct(ctx, tenant, idOrSlug)
	for i := range p.Variants {
		p.Variants[i].CostPrice = nil // the store's cost is staff's business
	}
	return p, err
}

// categoryRef names category id for a product event; nil for no category.
func categoryRef(ctx context.Context, q *catalogdb.Queries, tenant, id string) (*catalogapi.CategoryRef, error) {
	if id == "" {
		return nil, nil
	}
	c, err := q.GetCategory(ctx, catalogdb.GetCategoryParams{TenantID: tenant, ID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // deleted since: the event names none
	}
	if err != nil {
		return nil, fmt.Errorf("load category %s: %w", id, err)
	}
	return &catalogapi.CategoryRef{ID: c.ID, Slug: c.Slug, Name: c.Name}, nil
}
