package admin

import "net/http"

// home is the back office's start page.
func (s *Service) home(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	_ = ctx
	v := s.kit.View(r, "Home")
	s.kit.Render(w, r, http.StatusOK, "home", v)
}
