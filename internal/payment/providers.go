package payment

import (
	"context"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/web"
)

// Providers returns the names of the providers this service was configured
// with, sorted: the ones a checkout may name.
func (s *Service) Providers() paymentapi.Providers {
	names := make([]string, 0, len(s.providers))
	for name := range s.providers {
		names = append(names, name)
	}
	slices.Sort(names)
	return paymentapi.Providers{Providers: names}
}

// providerRoutes registers the public list of providers: a storefront
// shows only those, and the order service refuses a checkout naming
// another before writing anything.
func (s *Service) providerRoutes(api *web.API) {
	huma.Register(api, web.Public(huma.Operation{
		OperationID: "list-payment-providers",
		Method:      http.MethodGet,
		Path:        paymentapi.ProvidersPath,
		Summary:     "List the payment providers a checkout may use",
		Description: "The providers this deployment is configured with (fake, stripe); a checkout naming another is refused with 422.",
		Tags:        []string{"payment"},
	}), func(context.Context, *struct{}) (*struct{ Body paymentapi.Providers }, error) {
		return &struct{ Body paymentapi.Providers }{Body: s.Providers()}, nil
	})
}
