package admin

func (s *Service) signInRoutes(route routeFunc) {}
