// Package tenantapi is the tenant service's contract: the bodies of its
// REST operations (signup, store settings, custom domains, API keys, plan
// limits), the payloads of its events, the plan-limit check other services
// run before creating a product or a staff account, and a client that
// resolves hosts, tenant IDs and API keys, with a cache, for the web
// platform of every process, and calls the store operations for the admin
// UI.
//
// Fields are only ever added.
package tenantapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Source is the service name events carry.
const Source = "tenant"

// Event subjects (and types) the tenant service publishes.
const (
	// SubjectTenantCreated is published when a store goes live: at signup,
	// once its owner account exists, or when configuration creates one.
	SubjectTenantCreated = "tenant.created.v1"
	// SubjectTenantUpdated is published when a store's settings change.
	SubjectTenantUpdated = "tenant.updated.v1"
)

// TenantCreated is the payload of tenant.created.v1.
type TenantCreated struct {
	TenantID string   `json:"tenant_id"`
	Name     string   `json:"name"`
	Hosts    []string `json:"hosts"`
	// Plan and Settings were added with signup; events of stores created
	// before carry none.
	Plan     string    `json:"plan,omitempty"`
	Settings *Settings `json:"settings,omitempty"`
	// UpdatedAt is the version of Settings (added later; older events
	// carry none: their envelope's time stands in).
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// TenantUpdated is the payload of tenant.updated.v1: the settings after the
// change. Consumers keeping a copy of the settings apply an event only if
// its UpdatedAt is newer than the copy's: events may arrive out of order.
type TenantUpdated struct {
	TenantID string   `json:"tenant_id"`
	Settings Settings `json:"settings"`
	// UpdatedAt is the version of Settings (added later; older events
	// carry none: their envelope's time stands in).
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// The settings of a new store. Services that keep a copy of a store's
// settings (pricing) start from these, so a new store's settings agree
// everywhere before its first event arrives.
const (
	DefaultCurrency     = "EUR"
	DefaultTaxInclusive = true
	DefaultLocale       = "en"
	// DefaultBrandColor and DefaultAccentColor are the storefront's colours
	// until the store chooses its own (stores from before colours have
	// them too).
	DefaultBrandColor  = "#1f5f4a"
	DefaultAccentColor = "#b4461f"
	DefaultTimeZone    = "UTC"
	DefaultInvoiceOn   = InvoiceOnConfirmed
)

// The order events that may issue a store's invoices (Settings.InvoiceOn).
const (
	InvoiceOnConfirmed = "confirmed"
	InvoiceOnShipped   = "shipped"
)

// DefaultSettings are the settings of a new store named name.
func DefaultSettings(name string) Settings {
	return Settings{Name: name, Currency: DefaultCurrency, TaxInclusive: DefaultTaxInclusive, Locale: DefaultLocale,
		CORSOrigins: []string{}, BrandColor: DefaultBrandColor, AccentColor: DefaultAccentColor,
		TimeZone: DefaultTimeZone, InvoiceOn: DefaultInvoiceOn}
}

// Limits of the contract, also enforced by the service.
const (
	MaxStoreName  = 100
	MaxLogo       = 500
	MaxKeyName    = 100
	MaxHost       = 253
	MaxAPIKeys    = 50
	MaxDomains    = 20
	MaxLocale     = 35
	MinSubdomain  = 3
	MaxSubdomain  = 63
	MaxEmail      = 254
	MaxPassword   = 128
	MaxPersonName = 100
	MaxOrigins    = 20
	MaxOrigin     = 200
	MaxLegalName  = 200
	MaxTaxID      = 30
	MaxTimeZone   = 64
)

// Plans.
const (
	PlanFree       = "free"
	PlanPro        = "pro"
	PlanEnterprise = "enterprise"
)

// Store statuses a Store can show.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
)

// Domain kinds.
const (
	// DomainSystem hosts come from configuration (localhost for the
	// default store).
	DomainSystem = "system"
	// DomainSubdomain is the <subdomain>.<base domain> host of a signup.
	DomainSubdomain = "subdomain"
	// DomainCustom hosts are added (and removed) by the store.
	DomainCustom = "custom"
)

// API key kinds (also the role of a request made with one: auth.RolePublishable
// and auth.RoleSecret).
const (
	KeyPublishable = "publishable"
	KeySecret      = "secret"
)

// Signup is the body of POST /api/v1/tenants: a new store and its owner.
type Signup struct {
	StoreName string `json:"store_name" minLength:"1" maxLength:"100" doc:"The store's name, shown to its customers. Stored as given; render it escaped." example:"Acme Coffee"`
	Subdomain string `json:"subdomain" minLength:"3" maxLength:"63" doc:"The store answers at <subdomain>.<base domain>: 3 to 63 of a-z, 0-9 and '-', not starting or ending with '-'; some names are reserved." example:"acme"`
	Email     string `json:"email" minLength:"3" maxLength:"254" doc:"The owner's email; the owner signs in with it." example:"owner@acme.example"`
	Password  string `json:"password" minLength:"1" maxLength:"128" doc:"The owner's password (the identity service's rules: at least 10 characters, not a common one)."`
	OwnerName string `json:"owner_name,omitempty" maxLength:"100" doc:"The owner's name; the email's local part when absent."`
	// There is no plan here: the deployment's operator chooses plans (the
	// -tenant.signup-plan flag for new stores, PUT /api/v1/admin/store/plan
	// afterwards). A body naming one is refused like any unknown field.
}

// PlanUpdate is the body of PUT /api/v1/admin/store/plan, the operator's
// operation (admin or service token) that moves a store to another plan.
type PlanUpdate struct {
	Plan string `json:"plan" enum:"free,pro,enterprise" doc:"The plan, with its limits (see GET /api/v1/admin/store/limits)."`
}

// SignupResult is the answer of a signup: the new store, where it answers,
// and its owner's tokens.
type SignupResult struct {
	Store Store `json:"store"`
	// URL is the store's address on the base domain: scheme http on a
	// laptop base domain, https otherwise; the port the signup request was
	// sent to (or -tenant.public-port when set).
	URL     string `json:"url" example:"https://acme.mercato.example"`
	OwnerID string `json:"owner_id,omitempty" doc:"The owner's staff account ID."`
	// The owner's tokens. A retried signup whose owner was created by an
	// earlier attempt answers without them: the owner signs in instead.
	AccessToken  string `json:"access_token,omitempty" doc:"Short-lived access token of the owner; send as Authorization: Bearer."`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type,omitempty" example:"Bearer"`
	ExpiresIn    int64  `json:"expires_in,omitempty" doc:"Seconds until the access token expires."`
}

// Settings are a store's editable settings.
type Settings struct {
	Name         string   `json:"name" doc:"The store's name, as given: render it escaped."`
	Logo         string   `json:"logo" doc:"An http(s) URL or a /path reference to the logo; empty for none."`
	Currency     string   `json:"currency" doc:"ISO 4217 currency of the store's prices." example:"EUR"`
	TaxInclusive bool     `json:"tax_inclusive" doc:"Whether prices include tax."`
	Locale       string   `json:"locale" doc:"BCP 47 language tag of the storefront." example:"en-GB"`
	CORSOrigins  []string `json:"cors_origins" doc:"Origins (scheme://host[:port]) whose pages may call the store's API from a browser (CORS); none by default."`
	// BrandColor and AccentColor were added with branding: events of
	// settings from before carry none ("").
	BrandColor  string `json:"brand_color" doc:"The storefront's main colour: a CSS hex colour #rrggbb, lowercase." example:"#1f5f4a"`
	AccentColor string `json:"accent_color" doc:"The storefront's accent colour (buttons, prices, links): a CSS hex colour #rrggbb, lowercase." example:"#b4461f"`
	// The legal details, time zone and invoice trigger were added with
	// invoices: events of settings from before carry none ("", a zero
	// Address), which mean no details, UTC and "confirmed".
	LegalName string  `json:"legal_name" doc:"The seller's registered name on invoices; empty: the store's name." example:"Acme Trading Ltd"`
	TaxID     string  `json:"tax_id" doc:"The seller's VAT or tax registration number, printed on invoices; uppercase letters, digits, spaces, dots and dashes." example:"GB123456789"`
	Address   Address `json:"address" doc:"The seller's postal address on invoices."`
	TimeZone  string  `json:"time_zone" doc:"IANA time zone the store's days are counted in (reports, invoice dates)." example:"Europe/Berlin"`
	InvoiceOn string  `json:"invoice_on" enum:"confirmed,shipped" doc:"Which order event issues the invoice: the order's confirmation (paid) or its shipment."`
}

// Address is a store's postal address. Country is set whenever any other
// field is (the service checks it).
type Address struct {
	Line1      string `json:"line1" maxLength:"200" required:"false" example:"1 Market Street"`
	Line2      string `json:"line2,omitempty" maxLength:"200"`
	City       string `json:"city" maxLength:"100" required:"false" example:"London"`
	Region     string `json:"region,omitempty" maxLength:"100" doc:"State or province."`
	PostalCode string `json:"postal_code" maxLength:"20" required:"false" example:"EC1A 1BB"`
	Country    string `json:"country" maxLength:"2" required:"false" doc:"ISO 3166-1 alpha-2 country code, uppercase; empty with no address." example:"GB"`
}

// IsZero reports whether a is no address at all.
func (a Address) IsZero() bool { return a == Address{} }

// Location is the store's time zone: UTC when it has none or names one
// this build does not know (the service refuses such names).
func (s Settings) Location() *time.Location {
	if s.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// InvoiceTrigger is InvoiceOn, with settings from before invoices
// ("") meaning InvoiceOnConfirmed.
func (s Settings) InvoiceTrigger() string {
	if s.InvoiceOn == "" {
		return InvoiceOnConfirmed
	}
	return s.InvoiceOn
}

// Equal reports whether s and o are the same settings.
func (s Settings) Equal(o Settings) bool {
	return s.Name == o.Name && s.Logo == o.Logo && s.Currency == o.Currency && s.TaxInclusive == o.TaxInclusive &&
		s.Locale == o.Locale && slices.Equal(s.CORSOrigins, o.CORSOrigins) &&
		s.BrandColor == o.BrandColor && s.AccentColor == o.AccentColor &&
		s.LegalName == o.LegalName && s.TaxID == o.TaxID && s.Address == o.Address &&
		s.TimeZone == o.TimeZone && s.InvoiceOn == o.InvoiceOn
}

// Store is a store: its settings, plan and hosts.
type Store struct {
	ID        string `json:"id" doc:"The tenant ID."`
	Subdomain string `json:"subdomain,omitempty"`
	Plan      string `json:"plan" enum:"free,pro,enterprise"`
	Status    string `json:"status" enum:"active,suspended"`
	Settings
	Hosts     []string  `json:"hosts" doc:"Host names the store answers on."`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MarshalJSON escapes <, > and & in strings (as \u003c…): names are stored
// as given, markup included, and must not come back as markup even where a
// careless client pastes the JSON into a page. The platform's encoder does
// not escape HTML itself.
func (s Store) MarshalJSON() ([]byte, error) {
	type plain Store
	return json.Marshal(plain(s))
}

// StoreUpdate is the body of PATCH /api/v1/admin/store: absent fields stay.
type StoreUpdate struct {
	Name         *string   `json:"name,omitempty" minLength:"1" maxLength:"100"`
	Logo         *string   `json:"logo,omitempty" maxLength:"500" doc:"An http(s) URL or a /path reference; empty removes the logo."`
	Currency     *string   `json:"currency,omitempty" minLength:"3" maxLength:"3" example:"EUR"`
	TaxInclusive *bool     `json:"tax_inclusive,omitempty"`
	Locale       *string   `json:"locale,omitempty" minLength:"2" maxLength:"35" example:"en-GB"`
	CORSOrigins  *[]string `json:"cors_origins,omitempty" maxItems:"20" doc:"Replaces the list of origins allowed to call the API from a browser, e.g. [\"https://shop.example.com\"]; [] allows none. Takes effect within 10 seconds."`
	BrandColor   *string   `json:"brand_color,omitempty" pattern:"^#[0-9A-Fa-f]{6}$" doc:"A CSS hex colour #rrggbb; stored lowercase." example:"#1f5f4a"`
	AccentColor  *string   `json:"accent_color,omitempty" pattern:"^#[0-9A-Fa-f]{6}$" doc:"A CSS hex colour #rrggbb; stored lowercase." example:"#b4461f"`
	LegalName    *string   `json:"legal_name,omitempty" maxLength:"200" doc:"The seller's registered name; empty: the store's name."`
	TaxID        *string   `json:"tax_id,omitempty" maxLength:"30" doc:"VAT or tax registration number; stored uppercase without surrounding spaces; empty for none." example:"DE123456789"`
	Address      *Address  `json:"address,omitempty" doc:"Replaces the whole address; all fields empty removes it. Line 1, city and country are required otherwise."`
	TimeZone     *string   `json:"time_zone,omitempty" minLength:"1" maxLength:"64" doc:"An IANA time zone name, like Europe/Berlin or UTC." example:"Europe/Berlin"`
	InvoiceOn    *string   `json:"invoice_on,omitempty" enum:"confirmed,shipped" doc:"Issue invoices when an order is confirmed (paid) or when it ships."`
}

// DomainCreate is the body of POST /api/v1/admin/store/domains.
type DomainCreate struct {
	Host string `json:"host" minLength:"1" maxLength:"253" doc:"A host name outside the base domain, e.g. shop.example.com; stored lowercase." example:"shop.acme.example"`
}

// Domain is a host name a store answers on.
type Domain struct {
	Host      string    `json:"host"`
	Kind      string    `json:"kind" enum:"system,subdomain,custom" doc:"Only custom domains can be removed."`
	CreatedAt time.Time `json:"created_at"`
}

// DomainList is a store's domains.
type DomainList struct {
	Items []Domain `json:"items"`
}

// APIKeyCreate is the body of POST /api/v1/admin/store/api-keys.
type APIKeyCreate struct {
	Name string `json:"name" minLength:"1" maxLength:"100" doc:"What the key is for, e.g. the integration using it."`
	Kind string `json:"kind" enum:"publishable,secret" doc:"publishable: for storefront clients, may do what an anonymous visitor may; secret: for server integrations, never to be shipped to a browser."`
}

// APIKey is an API key as listed: never the key itself.
type APIKey struct {
	ID        string     `json:"id" format:"uuid"`
	Name      string     `json:"name"`
	Kind      string     `json:"kind" enum:"publishable,secret"`
	Prefix    string     `json:"prefix" doc:"The key's first characters, to tell keys apart." example:"pk_live_Xa3k"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// MarshalJSON escapes HTML in strings, like Store's.
func (k APIKey) MarshalJSON() ([]byte, error) {
	type plain APIKey
	return json.Marshal(plain(k))
}

// APIKeyCreated is the answer of creating an API key: the only time the key
// is shown.
type APIKeyCreated struct {
	APIKey
	Key string `json:"key" doc:"The key: shown once, only its hash is kept. Send it as X-Mercato-Api-Key or Authorization: Bearer." example:"pk_live_3kX9..."`
}

// MarshalJSON escapes HTML in strings, like Store's. (Without it the
// MarshalJSON promoted from APIKey would drop Key.)
func (k APIKeyCreated) MarshalJSON() ([]byte, error) {
	type plain APIKey // no methods: its fields are flattened
	return json.Marshal(struct {
		plain
		Key string `json:"key"`
	}{plain(k.APIKey), k.Key})
}

// APIKeyList is a store's API keys, newest first, revoked ones included.
type APIKeyList struct {
	Items []APIKey `json:"items"`
}

// Unlimited is the limit of a resource a plan does not limit.
const Unlimited int64 = -1

// Resource is something a plan limits.
type Resource string

// The resources plans limit.
const (
	ResourceProducts Resource = "products"
	ResourceStaff    Resource = "staff"
)

// Limits are a store's plan and what it allows (Unlimited for no limit).
type Limits struct {
	Plan     string `json:"plan" enum:"free,pro,enterprise"`
	Products int64  `json:"products" doc:"Most products the store may have; -1 for no limit."`
	Staff    int64  `json:"staff" doc:"Most staff accounts the store may have (owner included); -1 for no limit."`
}

// Of returns the limit for r, Unlimited for a resource the plan does not limit.
func (l Limits) Of(r Resource) int64 {
	switch r {
	case ResourceProducts:
		return l.Products
	case ResourceStaff:
		return l.Staff
	}
	return Unlimited
}

// ErrLimitReached matches (with errors.Is) every *LimitError.
var ErrLimitReached = errors.New("tenantapi: plan limit reached")

// LimitCode is the problem code services answer a *LimitError with.
const LimitCode = "plan_limit_reached"

// LimitError says a store's plan allows no more of a resource. Services
// answer it with 403 and code plan_limit_reached (Status and LimitCode).
type LimitError struct {
	Plan     string
	Resource Resource
	Limit    int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("the %s plan allows at most %d %s", e.Plan, e.Limit, e.Resource)
}

// Is makes errors.Is(err, ErrLimitReached) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimitReached }

// Status is the HTTP status of the error: 403, the plan forbids it.
func (e *LimitError) Status() int { return http.StatusForbidden }

// CheckLimit reports whether one more of resource fits the plan when the
// store has current of them: nil, or a *LimitError. Run it in the
// transaction that creates the resource, with the count read there, so
// concurrent creations cannot both pass.
func CheckLimit(l Limits, resource Resource, current int64) error {
	limit := l.Of(resource)
	if limit == Unlimited || current < limit {
		return nil
	}
	return &LimitError{Plan: l.Plan, Resource: resource, Limit: limit}
}

// LimitsReader reads the plan limits of the store in ctx, as Client does.
type LimitsReader interface {
	Limits(ctx context.Context) (Limits, error)
}

// ReadLimits returns, through r, the limits of the store in ctx when its
// plan limits resource, and nil when it does not or r is nil (a service
// run without the tenant service knows no limits). Call it before the
// write transaction: a network call does not belong inside one. A failure
// to read them wraps unavailable: the write is refused rather than let
// through, since a limit that holds only while the tenant service answers
// is no limit.
func ReadLimits(ctx context.Context, r LimitsReader, resource Resource, unavailable error) (*Limits, error) {
	if r == nil {
		return nil, nil
	}
	l, err := r.Limits(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", unavailable, err)
	}
	if l.Of(resource) == Unlimited {
		return nil, nil
	}
	return &l, nil
}

// Resolution is the answer of the resolve endpoint. KeyID and Role are set
// when an API key was resolved.
type Resolution struct {
	TenantID string `json:"tenant_id" doc:"The tenant the host, ID or API key belongs to."`
	KeyID    string `json:"key_id,omitempty" doc:"The API key's ID, when a key was resolved."`
	Role     string `json:"role,omitempty" enum:"publishable,secret" doc:"The API key's kind, when a key was resolved."`
	// CORSOrigins are the origins the store lets browsers call its API
	// from (added with CORS).
	CORSOrigins []string `json:"cors_origins,omitempty" doc:"Origins the store allows cross-origin requests from."`
}

// ResolvePath is the tenant service's internal resolve endpoint: only the
// deployment's service token may call it (the platform's rule for every
// /internal/ route). Clients built on the platform's HTTP clients send it.
const ResolvePath = "/internal/v1/tenants/resolve"

// APIKeyHeader carries an API key, to a store's API or to the resolve
// endpoint.
const APIKeyHeader = "X-Mercato-Api-Key"
