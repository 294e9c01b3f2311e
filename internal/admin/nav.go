package admin

import (
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
// the services' access tables for the section's main operations.
var navItems = []navItem{
	{Path: "/admin/", Label: "Today", Roles: []string{"owner", "manager", "staff", "support"}},
	{Path: "/admin/orders", Label: "Orders", Roles: []string{"owner", "manager", "staff", "support"}},
	{Path: "/admin/products", Label: "Products", Roles: []string{"owner", "manager", "staff", "support"}},
	{Path: "/admin/stock", Label: "Stock", Roles: []string{"owner", "manager", "staff", "support"}},
	{Path: "/admin/discounts", Label: "Discounts", Roles: []string{"owner", "manager"}},
	{Path: "/admin/tax-rates", Label: "Tax rates", Roles: []string{"owner", "manager"}},
	{Path: "/admin/shipping-methods", Label: "Shipping", Roles: []string{"owner", "manager"}},
	{Path: "/admin/staff", Label: "Staff", Roles: []string{"owner", "manager", "staff", "support"}},
	{Path: "/admin/api-keys", Label: "API keys", Roles: []string{"owner"}},
	{Path: "/admin/settings", Label: "Settings", Roles: []string{"owner", "manager"}},
}

// view is the kit's View with the navigation the signed-in person's role
// may use. Call it after Authed.
func (s *Service) view(r *http.Request, title string) (*page.View, error) {
	v := s.kit.View(r, title)
	var nav []navItem
	if v.User != nil {
		for _, it := range navItems {
			if !slices.Contains(it.Roles, v.User.Role) {
				continue
			}
			it.Current = r.URL.Path == it.Path || it.Path != "/admin/" && strings.HasPrefix(r.URL.Path, it.Path+"/")
			nav = append(nav, it)
		}
	}
	v.Nav = nav
	return v, nil
}
