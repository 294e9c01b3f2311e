package admin

func (s *Service) orderRoutes(route routeFunc) {}
