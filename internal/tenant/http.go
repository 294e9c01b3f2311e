package tenant

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// access says which staff roles may call each admin operation of the
// service, by huma OperationID; the platform enforces it (web.Roles). The
// deployment's admin principal may call every operation, a secret API key
// what a manager may (but see noAPIKeys); publishable keys, customers and
// anonymous callers only the public operations (signup, resolve).
var access = map[string][]auth.Role{
	"get-store":           {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"update-store":        {auth.RoleOwner, auth.RoleManager},
	"get-store-limits":    {auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport},
	"list-store-domains":  {auth.RoleOwner, auth.RoleManager},
	"add-store-domain":    {auth.RoleOwner},
	"remove-store-domain": {auth.RoleOwner},
	"list-api-keys":       {auth.RoleOwner, auth.RoleManager},
	"create-api-key":      {auth.RoleOwner},
	"revoke-api-key":      {auth.RoleOwner},
	// Plans are the deployment operator's to choose: no staff role, not
	// even the owner; the admin and service tokens only.
	"set-store-plan": {},
}

// noAPIKeys are operations no API key may call, whatever its role: a
// leaked key must not lead to more keys (web.NoAPIKeys).
var noAPIKeys = map[string]bool{"list-api-keys": true, "create-api-key": true, "revoke-api-key": true}

// The answers of store operations beyond the platform's (see problems).
var (
	ansSubdomainTaken  = web.Answer{Status: http.StatusConflict, Code: "subdomain_taken", When: "another store uses the subdomain"}
	ansSignupKeyReused = web.Answer{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", When: "the Idempotency-Key was used for another signup"}
	ansSignupInvalid   = web.Answer{Status: http.StatusUnprocessableEntity, When: "a field is refused, with its code (the owner's email and password as the identity service checks them: invalid_email, weak_password)"}
	ansDomainTaken     = web.Answer{Status: http.StatusConflict, Code: "domain_taken", When: "the host is mapped to a store already"}
	ansTooManyDomains  = web.Answer{Status: http.StatusConflict, Code: "too_many_domains", When: "the store has the most custom domains allowed"}
	ansDomainNotFound  = web.Answer{Status: http.StatusNotFound, Code: "domain_not_found", When: "the store has no such domain"}
	ansDomainProtected = web.Answer{Status: http.StatusConflict, Code: "domain_protected", When: "the host is the store's subdomain: only custom domains can be removed"}
	ansTooManyKeys     = web.Answer{Status: http.StatusConflict, Code: "too_many_api_keys", When: "the store has the most live API keys allowed"}
	ansKeyNotFound     = web.Answer{Status: http.StatusNotFound, Code: "api_key_not_found", When: "the store has no such API key"}
	ansConflict        = web.Answer{Status: http.StatusConflict, Code: web.CodeConflict, When: "the store changed concurrently: send the request again"}
)

// register adds an admin operation guarded by its roles in access (none:
// the admin's only), with errors mapped by problems.
func register[I, O any](api huma.API, op huma.Operation, h func(ctx context.Context, in *I) (*O, error)) {
	op.Tags = []string{"store admin"}
	op = web.Roles(op, append([]auth.Role{}, access[op.OperationID]...)...)
	if noAPIKeys[op.OperationID] {
		op = web.NoAPIKeys(op)
	}
	huma.Register(api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, problems.Map(err)
		}
		return out, nil
	})
}

// Routes registers the signup, the store admin operations and the internal
// resolve endpoint (outside /api/, so resolving needs no tenant).
func (s *Service) Routes(api *web.API) {
	api.Tag("stores", "Opening a new store (tenant) on this deployment.")
	api.Tag("store admin", "The store's own settings: name, currency and tax mode, its host names "+
		"(subdomain and custom domains), its plan and the plan's limits, and its API keys.")
	// Only the deployment's service token reaches it (web.Internal): the
	// answers map hosts to stores and tell live API keys from dead ones.
	huma.Register(api, web.Internal(huma.Operation{
		OperationID: "resolve-tenant",
		Method:      http.MethodGet,
		Path:        tenantapi.ResolvePath,
		Summary:     "Resolve a host name, tenant ID or subdomain, or API key to a tenant",
	}), s.resolve)
	huma.Register(api, web.Answers(web.Public(huma.Operation{
		OperationID: "signup",
		Method:      http.MethodPost,
		Path:        "/api/v1/tenants",
		Summary:     "Sign up a new store",
		Description: "Creates a store answering at <subdomain>.<base domain> and its owner account, and " +
			"answers with the owner's tokens (201). Send an Idempotency-Key: a retry with the same key, owner " +
			"email and request never creates a second store; one whose first attempt created the owner answers 200 " +
			"without tokens (the owner signs in). Keys are scoped by the owner's email, so two people sending " +
			"the same key do not collide. The store is new whatever host the request was sent to. Its plan is " +
			"the deployment's (-tenant.signup-plan): a body naming one is refused.",
		Tags:          []string{"stores"},
		DefaultStatus: http.StatusCreated,
		// The store URL in the answer uses the port the request reached.
		Middlewares: huma.Middlewares{func(ctx huma.Context, next func(huma.Context)) {
			next(huma.WithContext(ctx, withRequestPort(ctx.Context(), ctx.Host())))
		}},
	}), ansSubdomainTaken, ansSignupKeyReused, ansSignupInvalid), s.signup)
	register(api, huma.Operation{
		OperationID: "set-store-plan", Method: http.MethodPut, Path: "/api/v1/admin/store/plan",
		Summary: "Move the store to another plan",
		Description: "The deployment operator's operation (the admin token set with -admin-token, or the service " +
			"token): store staff, owners included, may not choose their plan. Answers the new limits.",
	}, func(ctx context.Context, in *struct{ Body tenantapi.PlanUpdate }) (*struct{ Body tenantapi.Limits }, error) {
		l, err := s.SetPlan(ctx, in.Body.Plan)
		return &struct{ Body tenantapi.Limits }{Body: l}, err
	})

	register(api, huma.Operation{
		OperationID: "get-store", Method: http.MethodGet, Path: "/api/v1/admin/store",
		Summary: "Get the store's settings",
		Description: "The store's settings (name, logo, colours, currency, tax mode, locale), its plan and status, and the " +
			"host names it answers on.",
	}, func(ctx context.Context, _ *struct{}) (*storeOutput, error) {
		st, err := s.Store(ctx)
		return &storeOutput{Body: st}, err
	})
	register(api, web.Answers(huma.Operation{
		OperationID: "update-store", Method: http.MethodPatch, Path: "/api/v1/admin/store",
		Summary:     "Update the store's settings",
		Description: "A partial update: absent fields stay. Announced as tenant.updated.v1.",
	}, ansConflict), func(ctx context.Context, in *struct{ Body tenantapi.StoreUpdate }) (*storeOutput, error) {
		st, err := s.UpdateStore(ctx, in.Body)
		return &storeOutput{Body: st}, err
	})
	register(api, huma.Operation{
		OperationID: "get-store-limits", Method: http.MethodGet, Path: tenantapi.LimitsPath,
		Summary:     "Get the store's plan limits",
		Description: "Services check these (tenantapi.CheckLimit) before creating a product or staff account; -1 is no limit.",
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body tenantapi.Limits }, error) {
		l, err := s.Limits(ctx)
		return &struct{ Body tenantapi.Limits }{Body: l}, err
	})

	register(api, huma.Operation{
		OperationID: "list-store-domains", Method: http.MethodGet, Path: "/api/v1/admin/store/domains",
		Summary: "List the store's host names",
		Description: "The store's host names: its subdomain of the deployment's base domain and its custom domains. " +
			"Requests to each resolve to this store.",
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body tenantapi.DomainList }, error) {
		ds, err := s.Domains(ctx)
		return &struct{ Body tenantapi.DomainList }{Body: tenantapi.DomainList{Items: ds}}, err
	})
	register(api, web.Answers(huma.Operation{
		OperationID: "add-store-domain", Method: http.MethodPost, Path: "/api/v1/admin/store/domains",
		Summary:       "Map a custom domain to the store",
		Description:   "Point the domain's DNS at the deployment; requests to it then resolve to this store.",
		DefaultStatus: http.StatusCreated,
	}, ansDomainTaken, ansTooManyDomains), func(ctx context.Context, in *struct{ Body tenantapi.DomainCreate }) (*struct{ Body tenantapi.Domain }, error) {
		d, err := s.AddDomain(ctx, in.Body.Host)
		return &struct{ Body tenantapi.Domain }{Body: d}, err
	})
	register(api, web.Answers(huma.Operation{
		OperationID: "remove-store-domain", Method: http.MethodDelete, Path: "/api/v1/admin/store/domains/{host}",
		Summary:       "Remove a custom domain",
		Description:   "Other processes may resolve it for up to a minute more (their cache).",
		DefaultStatus: http.StatusNoContent,
	}, ansDomainNotFound, ansDomainProtected), func(ctx context.Context, in *struct {
		Host string `path:"host" maxLength:"253"`
	}) (*struct{}, error) {
		return nil, s.RemoveDomain(ctx, in.Host)
	})

	register(api, huma.Operation{
		OperationID: "list-api-keys", Method: http.MethodGet, Path: "/api/v1/admin/store/api-keys",
		Summary: "List the store's API keys (never the keys themselves)",
		Description: "The store's API keys: kind (publishable or secret), name, prefix, and when each was created and " +
			"revoked. The keys themselves are shown once, when created, and kept only as hashes.",
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body tenantapi.APIKeyList }, error) {
		ks, err := s.APIKeys(ctx)
		return &struct{ Body tenantapi.APIKeyList }{Body: tenantapi.APIKeyList{Items: ks}}, err
	})
	register(api, web.Answers(huma.Operation{
		OperationID: "create-api-key", Method: http.MethodPost, Path: "/api/v1/admin/store/api-keys",
		Summary:       "Create an API key",
		Description:   "The answer is the only time the key is shown: only its hash is kept.",
		DefaultStatus: http.StatusCreated,
	}, ansTooManyKeys), func(ctx context.Context, in *struct{ Body tenantapi.APIKeyCreate }) (*struct{ Body tenantapi.APIKeyCreated }, error) {
		k, err := s.CreateAPIKey(ctx, in.Body)
		return &struct{ Body tenantapi.APIKeyCreated }{Body: k}, err
	})
	register(api, web.Answers(huma.Operation{
		OperationID: "revoke-api-key", Method: http.MethodDelete, Path: "/api/v1/admin/store/api-keys/{id}",
		Summary:       "Revoke an API key",
		Description:   "Processes that used the key may accept it for up to a minute more (their cache).",
		DefaultStatus: http.StatusNoContent,
	}, ansKeyNotFound), func(ctx context.Context, in *struct {
		ID string `path:"id" maxLength:"64"`
	}) (*struct{}, error) {
		return nil, s.RevokeAPIKey(ctx, in.ID)
	})
}

type storeOutput struct {
	Body tenantapi.Store
}

type resolveInput struct {
	Host   string `query:"host" maxLength:"253" doc:"Host name of the request."`
	ID     string `query:"id" maxLength:"63" doc:"Tenant ID or subdomain, taking precedence over host."`
	APIKey string `header:"X-Mercato-Api-Key" maxLength:"200" doc:"An API key, taking precedence over both."`
}

func (s *Service) resolve(ctx context.Context, in *resolveInput) (*struct{ Body tenantapi.Resolution }, error) {
	var r tenantapi.Resolution
	var err error
	switch {
	case in.APIKey != "":
		r, err = s.ResolveAPIKey(ctx, in.APIKey)
	case in.Host != "" || in.ID != "":
		r, err = s.Resolve(ctx, in.Host, in.ID)
	default:
		return nil, web.Error(http.StatusUnprocessableEntity, "validation_failed", "host, id or an API key is required")
	}
	if errors.Is(err, ErrNotFound) {
		return nil, web.Error(http.StatusNotFound, "unknown_tenant", "no store answers at this host, tenant ID or API key")
	}
	if err != nil {
		return nil, err
	}
	return &struct{ Body tenantapi.Resolution }{Body: r}, nil
}

type signupInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255"`
	Body           tenantapi.Signup
}

type signupOutput struct {
	Status int
	Body   tenantapi.SignupResult
}

func (s *Service) signup(ctx context.Context, in *signupInput) (*signupOutput, error) {
	res, created, err := s.Signup(ctx, in.Body, in.IdempotencyKey)
	if err != nil {
		return nil, problems.Map(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return &signupOutput{Status: status, Body: res}, nil
}

// problems maps the service's errors to problem answers: the one place.
// Refused input (*kit.ValidationError) is answered 422 with its code, and
// the identity service's refusal of a signup's owner is passed on
// (ownerRefusal); anything else is a 500, which huma logs with the request
// and never sends.
var problems = kit.Problems{
	{Err: ErrOwner, Status: http.StatusServiceUnavailable, Code: "owner_service_unavailable", Detail: "the store's owner account could not be created; nothing was kept, retry shortly"},
	{Err: ErrSubdomainTaken, Status: http.StatusConflict, Code: "subdomain_taken", Detail: "another store uses this subdomain"},
	{Err: ErrSignupKeyReused, Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Detail: "this Idempotency-Key was used for another signup"},
	{Err: ErrSignupUnavailable, Status: http.StatusServiceUnavailable, Code: "signup_unavailable", Detail: "signup is not available on this deployment"},
	{Err: ErrDomainTaken, Status: http.StatusConflict, Code: "domain_taken", Detail: "this host is already mapped to a store"},
	{Err: ErrDomainNotFound, Status: http.StatusNotFound, Code: "domain_not_found", Detail: "the store has no such domain"},
	{Err: ErrDomainProtected, Status: http.StatusConflict, Code: "domain_protected", Detail: "only custom domains can be removed"},
	{Err: ErrTooManyDomains, Status: http.StatusConflict, Code: "too_many_domains", Detail: "the store has the most custom domains allowed; remove one first"},
	{Err: ErrAPIKeyNotFound, Status: http.StatusNotFound, Code: "api_key_not_found", Detail: "the store has no such API key"},
	{Err: ErrTooManyAPIKeys, Status: http.StatusConflict, Code: "too_many_api_keys", Detail: "the store has the most live API keys allowed; revoke one first"},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: "store_not_found", Detail: "no such store"},
	{Err: ErrConflict, Status: http.StatusConflict, Code: web.CodeConflict, Detail: "the store changed concurrently; retry"},
	{Err: ErrForbidden, Status: http.StatusForbidden, Code: "forbidden", Detail: "your role may not do this"},
	{Err: tenancy.ErrMissing, Status: http.StatusBadRequest, Code: "no_tenant", Detail: "the request names no store"},
}
