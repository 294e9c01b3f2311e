package storefront

import "net/http"

// navData is the storefront layout's data: the category links and the
// number of items in the visitor's cart.
type navData struct {
	Categories []navCategory
	CartCount  int
}

type navCategory struct{ Slug, Name string }

// nav reads the layout's data for r.
func (s *Service) nav(r *http.Request) navData { return navData{} }
