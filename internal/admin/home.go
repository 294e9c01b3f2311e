package admin

import "net/http"

func (s *Service) homeRoutes(route routeFunc) {
	route("GET /admin/{$}", s.home)
}

// home is the back office's start page.
func (s *Service) home(w http.ResponseWriter, r *http.Request) {
	if _, _, err := s.kit.Authed(r, "staff"); err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v, err := s.view(r, "Today")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.kit.Render(w, r, http.StatusOK, "home", v)
}
