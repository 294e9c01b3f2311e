package admin

func (s *Service) pricingRoutes(route routeFunc) {}
