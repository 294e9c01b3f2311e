package admin

func (s *Service) productRoutes(route routeFunc) {}
