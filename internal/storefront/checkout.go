package storefront

func (s *Service) checkoutRoutes(route routeFunc) {}
