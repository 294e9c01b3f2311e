package storefront

import (
	"net/http"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/platform/page"
)

// navData is the storefront layout's data: the category links and the
// number of items in the visitor's cart.
type navData struct {
	// Categories are the top of the catalog's public tree, each with its
	// children (one level down).
	Categories []navCategory
	// CartCount is the sum of the cart's quantities.
	CartCount int64
	// Search shows the search box (the store has a search service).
	Search bool
}

// navCategory is a link to a category page.
type navCategory struct {
	Slug, Name string
	Children   []navCategory
}

// nav reads the layout's data for r.
func (s *Service) nav(r *http.Request) navData { return s.navWith(r, nil, nil) }

// navWith is nav for a page that has read the category tree or the
// visitor's cart itself (nil: not read), so that neither is read twice. A
// cart read as "none" is a zero Cart. The layout is never worth failing a
// page for: what cannot be read is left out (and logged).
func (s *Service) navWith(r *http.Request, tree *catalogapi.CategoryList, c *cartapi.Cart) navData {
	n := navData{Search: s.deps.Search != nil}
	if tree == nil {
		l, err := s.categories(r.Context())
		if err != nil {
			s.log.WarnContext(r.Context(), "read categories for the navigation", "err", err)
		}
		tree = &l
	}
	n.Categories = navCategories(tree.Items, 2)
	if c == nil {
		vc, _, err := s.visitorCart(r)
		if err != nil {
			s.log.WarnContext(r.Context(), "read the cart for the navigation", "err", err)
		}
		c = &vc
	}
	for _, l := range c.Lines {
		n.CartCount += l.Quantity
	}
	return n
}

// navCategories turns depth levels of the category tree into links.
func navCategories(cs []catalogapi.Category, depth int) []navCategory {
	if depth == 0 || len(cs) == 0 {
		return nil
	}
	out := make([]navCategory, len(cs))
	for i, c := range cs {
		out[i] = navCategory{Slug: c.Slug, Name: c.Name, Children: navCategories(c.Children, depth-1)}
	}
	return out
}

// viewWith is view for a page that has read the category tree or the
// visitor's cart (see navWith).
func (s *Service) viewWith(r *http.Request, title string, tree *catalogapi.CategoryList, c *cartapi.Cart) *page.View {
	v := s.kit.View(r, title)
	v.Nav = s.navWith(r, tree, c)
	return v
}

// findCategory returns the category with the slug anywhere in the tree,
// and its parent (nil for a root).
func findCategory(cs []catalogapi.Category, slug string, parent *catalogapi.Category) (cat, par *catalogapi.Category) {
	for i := range cs {
		if cs[i].Slug == slug {
			return &cs[i], parent
		}
		if c, p := findCategory(cs[i].Children, slug, &cs[i]); c != nil {
			return c, p
		}
	}
	return nil, nil
}

// findCategoryByID is findCategory by ID.
func findCategoryByID(cs []catalogapi.Category, id string) *catalogapi.Category {
	for i := range cs {
		if cs[i].ID == id {
			return &cs[i]
		}
		if c := findCategoryByID(cs[i].Children, id); c != nil {
			return c
		}
	}
	return nil
}
