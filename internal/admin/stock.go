package admin

func (s *Service) stockRoutes(route routeFunc) {}
