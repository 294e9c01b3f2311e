package cart

import (
	"github.com/mercato/mercato/internal/cart/cartdb"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
)

// skuRows turns a product snapshot of a catalog event into the projection's
// rows, one per variant. Only an active product's SKUs may be added to a
// cart; a draft's or archived product's are kept (inactive) so the lines
// that hold them still show what they were.
func skuRows(tenant string, p catalogapi.Product) []cartdb.UpsertSKUParams {
	image := ""
	if len(p.Images) > 0 {
		image = p.Images[0].URL
	}
	rows := make([]cartdb.UpsertSKUParams, len(p.Variants))
	for i, v := range p.Variants {
		title := p.Title
		// One variant is the product itself; among several, say which.
		if len(p.Variants) > 1 && v.Title != "" && v.Title != p.Title {
			title += " – " + v.Title
		}
		rows[i] = cartdb.UpsertSKUParams{
			TenantID: tenant, Sku: v.SKU, ProductID: p.ID, VariantID: v.ID, Title: title, ImageUrl: image,
			Price: v.Price.Amount, Currency: v.Price.Currency, Active: p.Status == catalogapi.StatusActive,
			ProductUpdatedAt: p.UpdatedAt.UnixMicro(),
		}
	}
	return rows
}
