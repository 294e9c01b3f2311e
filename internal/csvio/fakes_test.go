package csvio

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// fakeCatalog keeps products in memory, as the catalog would: SKUs unique,
// options defaulted from the variants, writes counted.
type fakeCatalog struct {
	mu       sync.Mutex
	products []catalogapi.Product
	writes   int
	keys     []string // the idempotency keys of the creates
}

func (f *fakeCatalog) AdminProducts(_ context.Context, p catalogapi.AdminListParams) (catalogapi.ProductList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var l catalogapi.ProductList
	for _, pr := range f.products {
		if p.SKU == "" || slices.ContainsFunc(pr.Variants, func(v catalogapi.Variant) bool { return v.SKU == p.SKU }) {
			l.Items = append(l.Items, pr)
		}
	}
	return l, nil
}

func (f *fakeCatalog) CreateProduct(_ context.Context, c catalogapi.ProductCreate, key string) (catalogapi.Product, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, key)
	f.writes++
	p := catalogapi.Product{ID: fmt.Sprintf("p%d", len(f.products)+1), Slug: c.Slug, Title: c.Title, Description: c.Description,
		Status: c.Status, Options: c.Options, Attributes: maps.Clone(c.Attributes), Images: c.Images}
	if p.Status == "" {
		p.Status = catalogapi.StatusDraft
	}
	if err := f.setVariants(&p, c.Variants); err != nil {
		return catalogapi.Product{}, err
	}
	f.products = append(f.products, p)
	return p, nil
}

func (f *fakeCatalog) setVariants(p *catalogapi.Product, vs []catalogapi.VariantInput) error {
	p.Variants = nil
	for _, v := range vs {
		for _, o := range f.products {
			if o.ID != p.ID && slices.ContainsFunc(o.Variants, func(x catalogapi.Variant) bool { return x.SKU == v.SKU }) {
				return &apiclient.Error{Status: http.StatusUnprocessableEntity, Code: "sku_taken", Detail: "SKU taken",
					Errors: []apiclient.FieldError{{Location: "body.variants[0].sku", Message: "SKU is used by another product"}}}
			}
		}
		p.Variants = append(p.Variants, catalogapi.Variant{ID: "v-" + v.SKU, SKU: v.SKU, Title: v.Title, Price: v.Price, Options: v.Options, CostPrice: v.CostPrice})
	}
	return nil
}

func (f *fakeCatalog) UpdateProduct(_ context.Context, id string, u catalogapi.ProductUpdate) (catalogapi.Product, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	for i := range f.products {
		p := &f.products[i]
		if p.ID != id {
			continue
		}
		if u.Title != nil {
			p.Title = *u.Title
		}
		if u.Description != nil {
			p.Description = *u.Description
		}
		if u.Status != nil {
			p.Status = *u.Status
		}
		if u.Slug != nil {
			p.Slug = *u.Slug
		}
		if u.Options != nil {
			p.Options = u.Options
		}
		if u.Attributes != nil {
			p.Attributes = maps.Clone(u.Attributes)
		}
		if u.Images != nil {
			p.Images = u.Images
		}
		if u.Variants != nil {
			if err := f.setVariants(p, u.Variants); err != nil {
				return catalogapi.Product{}, err
			}
		}
		return *p, nil
	}
	return catalogapi.Product{}, &apiclient.Error{Status: 404, Code: "product_not_found"}
}

// fakeInventory keeps on-hand stock per SKU and location.
type fakeInventory struct {
	mu          sync.Mutex
	stock       map[string]map[string]int64
	adjustments int
	// keys replays the answer of an idempotency key seen before, as the
	// inventory does for 24 hours.
	keys map[string]inventoryapi.StockLevel
}

func (f *fakeInventory) Stock(_ context.Context, sku string) (inventoryapi.StockLevel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	locs, ok := f.stock[sku]
	if !ok {
		return inventoryapi.StockLevel{}, fmt.Errorf("%w: %s", inventoryapi.ErrNotFound, sku)
	}
	return level(sku, locs), nil
}

func level(sku string, locs map[string]int64) inventoryapi.StockLevel {
	l := inventoryapi.StockLevel{SKU: sku}
	for _, name := range slices.Sorted(maps.Keys(locs)) {
		l.Locations = append(l.Locations, inventoryapi.LocationStock{Location: name, OnHand: locs[name], Available: locs[name]})
		l.OnHand += locs[name]
	}
	l.Available = l.OnHand
	return l
}

func (f *fakeInventory) Adjust(_ context.Context, sku string, a inventoryapi.Adjustment, key string) (inventoryapi.StockLevel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.keys[key]; ok {
		return l, nil
	}
	if f.keys == nil {
		f.keys = map[string]inventoryapi.StockLevel{}
	}
	defer func() { f.keys[key] = level(sku, f.stock[sku]) }()
	f.adjustments++
	if f.stock == nil {
		f.stock = map[string]map[string]int64{}
	}
	if f.stock[sku] == nil {
		f.stock[sku] = map[string]int64{}
	}
	if f.stock[sku][a.Location]+a.Delta < 0 {
		return inventoryapi.StockLevel{}, &apiclient.Error{Status: 409, Code: "insufficient_stock", Detail: "not enough stock"}
	}
	f.stock[sku][a.Location] += a.Delta
	return level(sku, f.stock[sku]), nil
}

func (f *fakeInventory) List(_ context.Context, p inventoryapi.ListParams) (inventoryapi.StockList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var l inventoryapi.StockList
	for _, sku := range slices.Sorted(maps.Keys(f.stock)) {
		l.Items = append(l.Items, level(sku, f.stock[sku]))
	}
	return l, nil
}

type fakeStores struct{ currency string }

func (f fakeStores) Store(context.Context) (tenantapi.Store, error) {
	return tenantapi.Store{Settings: tenantapi.Settings{Currency: f.currency}}, nil
}

type fakeOrders struct{ orders []orderapi.Order }

func (f fakeOrders) List(context.Context, orderapi.ListParams) (orderapi.OrderList, error) {
	return orderapi.OrderList{Items: f.orders}, nil
}

// fakeIdentity keeps customers by email and the export audit log; masked
// says what the caller's role gets.
type fakeIdentity struct {
	mu        sync.Mutex
	customers []identityapi.Customer
	writes    int
	masked    bool
	audit     []identityapi.ExportRecord
	auditDown bool // RecordExport fails
}

func (f *fakeIdentity) ImportCustomer(_ context.Context, in identityapi.CustomerImport) (identityapi.CustomerImported, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	email := strings.ToLower(in.Email)
	for i, c := range f.customers {
		if c.Email != email {
			continue
		}
		if c.Name == in.Name && (in.Phone == nil || c.Phone == *in.Phone) {
			return identityapi.CustomerImported{Customer: c, Outcome: "unchanged"}, nil
		}
		if !in.DryRun {
			f.writes++
			f.customers[i].Name = in.Name
			if in.Phone != nil {
				f.customers[i].Phone = *in.Phone
			}
		}
		return identityapi.CustomerImported{Customer: f.customers[i], Outcome: "updated"}, nil
	}
	c := identityapi.Customer{ID: fmt.Sprint(len(f.customers) + 1), Email: email, Name: in.Name}
	if in.Phone != nil {
		c.Phone = *in.Phone
	}
	if !in.DryRun {
		f.writes++
		f.customers = append(f.customers, c)
	}
	return identityapi.CustomerImported{Customer: c, Outcome: "created"}, nil
}

func (f *fakeIdentity) ListCustomers(_ context.Context, cursor string, limit int) (identityapi.CustomerList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := identityapi.CustomerList{Masked: f.masked}
	for _, c := range f.customers {
		if f.masked {
			c.Email, c.Name, c.Phone = MaskEmail(c.Email), MaskText(c.Name), "****"
		}
		l.Items = append(l.Items, c)
	}
	return l, nil
}

func (f *fakeIdentity) RecordExport(_ context.Context, r identityapi.ExportRecord) (identityapi.ExportAudit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.auditDown {
		return identityapi.ExportAudit{}, errors.New("identity down")
	}
	f.audit = append(f.audit, r)
	return identityapi.ExportAudit{ID: fmt.Sprint(len(f.audit)), Kind: r.Kind, Rows: r.Rows, Masked: r.Masked, InProgress: r.InProgress}, nil
}

// FinishExport sets the rows of entry id (its place in audit, from 1).
func (f *fakeIdentity) FinishExport(_ context.Context, id string, rows int64) (identityapi.ExportAudit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := strconv.Atoi(id)
	if err != nil || i < 1 || i > len(f.audit) || !f.audit[i-1].InProgress {
		return identityapi.ExportAudit{}, identityapi.ErrNotFound
	}
	f.audit[i-1].Rows, f.audit[i-1].InProgress = rows, false
	r := f.audit[i-1]
	return identityapi.ExportAudit{ID: id, Kind: r.Kind, Rows: r.Rows, Masked: r.Masked}, nil
}
