package storefront

func (s *Service) cartRoutes(route routeFunc) {}
