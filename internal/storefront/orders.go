package storefront

func (s *Service) orderRoutes(route routeFunc) {}
