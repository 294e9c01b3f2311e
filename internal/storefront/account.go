package storefront

func (s *Service) accountRoutes(route routeFunc) {}
