package storefront

import "net/http"

// browseRoutes: home, categories, product pages.
func (s *Service) browseRoutes(route routeFunc) {
	route("GET /{$}", s.home)
}

// home is the store's start page.
func (s *Service) home(w http.ResponseWriter, r *http.Request) {
	s.kit.Render(w, r, http.StatusOK, "home", s.view(r, "Home"))
}
