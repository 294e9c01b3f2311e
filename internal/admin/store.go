package admin

func (s *Service) storeRoutes(route routeFunc) {}
