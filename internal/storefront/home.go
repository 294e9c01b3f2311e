package storefront

import "net/http"

// home is the store's start page.
func (s *Service) home(w http.ResponseWriter, r *http.Request) {
	v := s.kit.View(r, "Home")
	s.kit.Render(w, r, http.StatusOK, "home", v)
}
