// Package tenancy carries the tenant a request or event belongs to. Every
// row, query, cache key and event in Mercato is scoped by the tenant ID taken
// from the context with ID; code that writes must fail without one.
package tenancy

import (
	"context"
	"errors"
	"regexp"
)

// ErrMissing is returned when a context carries no tenant.
var ErrMissing = errors.New("tenancy: no tenant in context")

// ErrUnknown is returned by tenant resolvers for hosts and IDs of no
// tenant. It lives here, not with the resolver or the server, so that the
// tenant directory's client can return it and the HTTP server recognise it
// without either importing the other.
var ErrUnknown = errors.New("tenancy: unknown tenant")

// Header selects a tenant by ID on an HTTP request: API clients that do not
// use the store's host name, and service-to-service calls, send it.
const Header = "X-Mercato-Tenant"

// DefaultID is the tenant laptop mode creates, answering on localhost.
const DefaultID = "default"

type ctxKey struct{}

// WithID returns a context carrying tenant id.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// ID returns the context's tenant, or ErrMissing.
func ID(ctx context.Context) (string, error) {
	id, _ := ctx.Value(ctxKey{}).(string)
	if id == "" {
		return "", ErrMissing
	}
	return id, nil
}

var validID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Valid reports whether id has the form of a tenant ID: lowercase letters,
// digits and dashes, at most 63 characters (a DNS label).
func Valid(id string) bool { return validID.MatchString(id) }
