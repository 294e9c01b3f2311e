package payment

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

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

// Warnings lists what an operator must know of this configuration; the
// platform logs each at start and shows it on /readyz. The only one: the
// fake provider running outside the laptop shape, where it would take test
// tokens as payments from anyone.
func (s *Service) Warnings() []string {
	if _, ok := s.providers[paymentapi.ProviderFake]; ok && !s.cfg.Laptop {
		return []string{"the fake payment provider is enabled outside the laptop shape: it accepts test tokens (tok_visa) as payments; turn it off (-payment.fake=false) unless this deployment is a test"}
	}
	return nil
}

// provider returns the named provider.
func (s *Service) provider(name string) (Provider, error) {
	p, ok := s.providers[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownProvider, name)
	}
	return p, nil
}

// providerCtx bounds a provider call and its recording. It is detached from
// the caller's cancellation: a client that hangs up must not leave an
// operation sent but unrecorded.
func (s *Service) providerCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ProviderTimeout)
}

// detached bounds the recording of an outcome already obtained from the
// provider, free of the caller's cancellation.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}
