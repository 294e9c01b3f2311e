package admin

func (s *Service) staffRoutes(route routeFunc) {}
