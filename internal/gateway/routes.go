package gateway

import "strings"

// docsOwner stands for the service named by -gateway.docs.
const docsOwner = "(docs)"

// ownership is who owns which path: the longest prefix, whole path
// segments at a time, wins ("/api/v1/me/orders" is the order service's,
// "/api/v1/me" identity's). Paths under /api/ that no entry covers are not
// forwarded; every other path is a storefront page unless an entry says
// otherwise. TestRouteOwnership (cmd/mercato) checks every route every
// service registers, operations and pages, against this table, so that a
// new route of a service cannot reach the wrong one.
var routeTable = map[string]string{
	"/docs":             docsOwner,
	"/openapi.json":     docsOwner,
	"/openapi.yaml":     docsOwner,
	"/openapi-3.0.json": docsOwner,
	"/openapi-3.0.yaml": docsOwner,
	"/schemas":          docsOwner,

	"/.well-known/jwks.json": "identity",
	"/admin":                 "admin",
	"/media":                 "media",
	"/media/demo":            "catalog",

	"/api/v1/tenants":     "tenant",
	"/api/v1/admin/store": "tenant",

	"/api/v1/auth":                    "identity",
	"/api/v1/me":                      "identity",
	"/api/v1/staff/auth":              "identity",
	"/api/v1/staff/invitations":       "identity",
	"/api/v1/admin/customers":         "identity",
	"/api/v1/admin/exports":           "identity",
	"/api/v1/admin/identity":          "identity",
	"/api/v1/admin/staff":             "identity",
	"/api/v1/admin/staff/invitations": "identity",

	"/api/v1/staff":                     "staff",
	"/api/v1/admin/staff/announcements": "staff",
	"/api/v1/admin/staff/attendance":    "staff",
	"/api/v1/admin/staff/employees":     "staff",
	"/api/v1/admin/staff/shifts":        "staff",

	"/api/v1/products":         "catalog",
	"/api/v1/categories":       "catalog",
	"/api/v1/admin/products":   "catalog",
	"/api/v1/admin/categories": "catalog",

	"/api/v1/admin/media": "media",

	"/api/v1/quote":            "pricing",
	"/api/v1/shipping-methods": "pricing",
	"/api/v1/admin/pricing":    "pricing",

	"/api/v1/availability":    "inventory",
	"/api/v1/admin/inventory": "inventory",

	"/api/v1/payments":       "payment",
	"/api/v1/admin/payments": "payment",

	"/api/v1/carts":       "cart",
	"/api/v1/admin/carts": "cart",

	"/api/v1/checkout":     "order",
	"/api/v1/orders":       "order",
	"/api/v1/me/orders":    "order",
	"/api/v1/admin/orders": "order",

	"/api/v1/message":        "notify",
	"/api/v1/messages":       "notify",
	"/api/v1/admin/emails":   "notify",
	"/api/v1/admin/webhooks": "notify",

	"/api/v1/reviews":       "review",
	"/api/v1/admin/reviews": "review",

	"/api/v1/invoices":       "invoice",
	"/api/v1/admin/invoices": "invoice",

	"/api/v1/search": "search",

	"/api/v1/admin/analytics": "analytics",
}

// table finds the owner of a path.
type table struct {
	owners map[string]string
}

func newTable() *table { return &table{owners: routeTable} }

// owner returns the service that owns path, or "" for none.
func (t *table) owner(path string) string {
	if path == "" || path[0] != '/' {
		return ""
	}
	p := path
	for {
		if s, ok := t.owners[p]; ok {
			return s
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	if path == "/api" || strings.HasPrefix(path, "/api/") {
		return ""
	}
	return "storefront"
}

// Owner returns the service that owns path at the gateway ("" for none;
// "(docs)" for the API documents, which go to -gateway.docs).
func Owner(path string) string { return newTable().owner(path) }
