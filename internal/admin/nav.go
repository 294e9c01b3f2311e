package admin

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/mercato/mercato/internal/platform/page"
)

// navItem is a link of the back office's navigation, shown to the roles
// that may use its page (the services refuse the rest anyway).
type navItem struct {
	Path, Label string
	Roles       []string
	Current     bool
}

// navItems are the back office's sections, in order. Roles are those of
// the services' access tables (var access in internal/<service>/http.go)
// for the operation that lists the section's things: a role that may read
// them sees the section, and its page hides what the role may not change.
var navItems = []navItem{
	// Today reads the admin order list and the stock list.
	{Path: "/admin/", Label: "Today", Roles: []string{"owner", "manager", "staff", "support"}},
	// order: admin-list-orders.
	{Path: "/admin/orders", Label: "Orders", Roles: []string{"owner", "manager", "staff", "support"}},
	// catalog: admin-list-products (readers).
	{Path: "/admin/products", Label: "Products", Roles: []string{"owner", "manager", "staff", "support"}},
	// inventory: admin-list-stock.
	{Path: "/admin/stock", Label: "Stock", Roles: []string{"owner", "manager", "staff", "support"}},
	// pricing: admin-list-discounts, -tax-rates, -shipping-methods
	// (readers: support may not read them).
	{Path: "/admin/discounts", Label: "Discounts", Roles: []string{"owner", "manager", "staff"}},
	{Path: "/admin/tax-rates", Label: "Tax rates", Roles: []string{"owner", "manager", "staff"}},
	{Path: "/admin/shipping-methods", Label: "Shipping", Roles: []string{"owner", "manager", "staff"}},
	// analytics: every report is owners' and managers'.
	{Path: "/admin/analytics", Label: "Analytics", Roles: []string{"owner", "manager"}},
	// review: admin-list-reviews (readers).
	{Path: "/admin/reviews", Label: "Reviews", Roles: []string{"owner", "manager", "staff", "support"}},
	// invoice: admin-list-invoices.
	{Path: "/admin/invoices", Label: "Invoices", Roles: []string{"owner", "manager", "staff", "support"}},
	// staff: check-in/out and the member's own announcements are
	// everyone's; the lists of staff and shifts are managers'.
	{Path: "/admin/staff", Label: "Staff", Roles: []string{"owner", "manager", "staff", "support"}},
	// tenant: list-api-keys (creating and revoking are the owner's).
	{Path: "/admin/api-keys", Label: "API keys", Roles: []string{"owner", "manager"}},
	// notify: notify-list-subscriptions, -list-deliveries.
	{Path: "/admin/webhooks", Label: "Webhooks", Roles: []string{"owner", "manager"}},
	// notify: notify-list-emails.
	{Path: "/admin/emails", Label: "Emails", Roles: []string{"owner", "manager"}},
	// identity: identity-import-customer, identity-list-exports (the CSV
	// import and export page, transfer.go).
	{Path: "/admin/import-export", Label: "Import / export", Roles: []string{"owner", "manager"}},
	// tenant: update-store (get-store is everyone's, but the page is
	// the form that changes it).
	{Path: "/admin/settings", Label: "Settings", Roles: []string{"owner", "manager"}},
}

// view is the kit's View with the navigation the signed-in person's role
// may use. Call it after Authed.
func (s *Service) view(r *http.Request, title string) (*page.View, error) {
	v := s.kit.View(r, title)
	var nav []navItem
	if v.User != nil {
		// A role changed since sign-in reaches the session with the next
		// refreshed token: the token's role is the one the APIs apply.
		if role := tokenRole(v.User.Tokens.Access); role != "" {
			v.User.Role = role
		}
		for _, it := range navItems {
			if !slices.Contains(it.Roles, v.User.Role) || (it.Path == "/admin/webhooks" || it.Path == "/admin/emails") && s.deps.Webhooks == nil ||
				it.Path == "/admin/analytics" && s.deps.Analytics == nil || it.Path == "/admin/invoices" && s.deps.Invoices == nil {
				continue
			}
			it.Current = r.URL.Path == it.Path || it.Path != "/admin/" && strings.HasPrefix(r.URL.Path, it.Path+"/")
			nav = append(nav, it)
		}
	}
	v.Nav = nav
	return v, nil
}

// tokenRole reads the role claim of a staff access token without checking
// its signature: the pages only use it to leave out what the APIs, which
// do check it, would refuse.
func tokenRole(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Role string `json:"rol"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	return claims.Role
}
