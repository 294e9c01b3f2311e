package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
	"github.com/mercato/mercato/internal/tenant/tenantdb"
)

// reservedSubdomains are names no store may take: hosts the deployment
// uses or may use, and names that would mislead customers.
func reservedSubdomains() []string {
	return []string{
		"www", "api", "admin", "app", "mail", "smtp", "imap", "pop", "mx", "static", "assets", "cdn",
		"media", "img", "images", "docs", "status", "help", "support", "blog", "dashboard",
		"default", "localhost", "mercato", "internal", "auth", "login", "signup", "account",
		"accounts", "billing", "checkout", "pay", "payments", "shop", "store", "stores", "dev",
		"test", "staging", "demo", "ns1", "ns2", "ftp", "root", "system", "security", "abuse",
		"postmaster", "hostmaster", "webmaster", "metrics", "grafana", "prometheus", "health",
	}
}

// cleanSubdomain checks a signup's subdomain: 3 to 63 of a-z, 0-9 and '-',
// not starting or ending with '-', not reserved.
func cleanSubdomain(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	bad := func(code, msg string) error {
		return invalid(code, "body.subdomain", msg, s)
	}
	if len(s) < tenantapi.MinSubdomain || len(s) > tenantapi.MaxSubdomain {
		return "", bad("invalid_subdomain", "must have 3 to 63 characters")
	}
	if !validLabel(s) {
		return "", bad("invalid_subdomain", "may only contain a-z, 0-9 and '-', and must not start or end with '-'")
	}
	if strings.HasPrefix(s, "xn--") {
		return "", bad("invalid_subdomain", "internationalized (xn--) names are not accepted")
	}
	if slices.Contains(reservedSubdomains(), s) {
		return "", bad("subdomain_reserved", "this subdomain is reserved")
	}
	return s, nil
}

// cleanEmail checks an email address by the platform's one rule
// (text.Email), the rule identity applies to the owner's account too.
func cleanEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := text.Email(s); err != nil {
		return "", invalid("invalid_email", "body.email", err.Error(), s)
	}
	return s, nil
}

// newTenantID derives a store's ID from its subdomain plus a random suffix:
// readable in logs, and never the ID of an earlier store, even one whose
// signup failed (the identity service may hold an account under it).
func newTenantID(subdomain string) string {
	base := subdomain
	if len(base) > 48 {
		base = strings.TrimRight(base[:48], "-")
	}
	return base + "-" + strings.ToLower(rand.Text()[:8])
}

// staleSignup is how long a store may stay provisioning before a signup of
// the same subdomain takes it over (its saga's process died).
const staleSignup = 10 * time.Minute

// ownerTimeout bounds the owner account step of a signup.
const ownerTimeout = 30 * time.Second

// Signup creates a store with its owner account (see the package doc) and
// returns it with the owner's tokens. key is the request's Idempotency-Key
// (may be empty): a retry with the same key and request resumes or returns
// the first attempt's store instead of creating another; created is false
// then.
func (s *Service) Signup(ctx context.Context, in tenantapi.Signup, key string) (res tenantapi.SignupResult, created bool, err error) {
	if s.owners == nil {
		return res, false, ErrSignupUnavailable
	}
	su, err := s.cleanSignup(in)
	if err != nil {
		return res, false, err
	}
	hash := signupHash(su)
	var t tenantdb.Tenant
	if key != "" {
		key = scopedSignupKey(key, su.Email)
		t, err = s.bySignupKey(ctx, key)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return res, false, fmt.Errorf("signup: look up Idempotency-Key: %w", err)
		case t.SignupHash != hash:
			return res, false, ErrSignupKeyReused
		default:
			return s.finishSignup(ctx, t, su)
		}
	}
	t, err = s.provision(ctx, su, key, hash)
	if errors.Is(err, errKeyRace) {
		// A concurrent request with the same key got there first: resume it.
		t, err = s.bySignupKey(ctx, key)
		if err == nil && t.SignupHash != hash {
			return res, false, ErrSignupKeyReused
		}
		if err != nil {
			return res, false, fmt.Errorf("signup: look up Idempotency-Key: %w", err)
		}
	}
	if err != nil {
		return res, false, err
	}
	res, _, err = s.finishSignup(ctx, t, su)
	return res, err == nil, err
}

// scopedSignupKey is what is kept of a signup's Idempotency-Key: the key
// within the owner's email. Signup is anonymous and public, so a key alone
// would be shared by everyone (two readers of a guide sending its example
// key would collide); the same key from the same owner is a retry.
func scopedSignupKey(key, email string) string {
	h := sha256.New()
	for _, f := range []string{strings.ToLower(email), key} {
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f))
	}
	return "v2:" + hex.EncodeToString(h.Sum(nil))
}

// bySignupKey returns the store a signup with Idempotency-Key key created,
// whichever tenant the request came in for: a lookup across tenants.
func (s *Service) bySignupKey(ctx context.Context, key string) (tenantdb.Tenant, error) {
	return kit.ReadOne(sqldb.AllTenants(ctx), s.st, func(q *tenantdb.Queries) (tenantdb.Tenant, error) {
		return q.GetTenantBySignupKey(ctx, sql.NullString{String: key, Valid: true})
	})
}

// signup is a checked signup request.
type signup struct {
	tenantapi.Signup
	host string // <subdomain>.<base domain>
	plan string // the deployment's plan for new stores
}

func (s *Service) cleanSignup(in tenantapi.Signup) (signup, error) {
	var su signup
	var err error
	su.Signup = in
	if su.StoreName, err = cleanName("body.store_name", in.StoreName, tenantapi.MaxStoreName); err != nil {
		return su, err
	}
	if su.Subdomain, err = cleanSubdomain(in.Subdomain); err != nil {
		return su, err
	}
	if su.Email, err = cleanEmail(in.Email); err != nil {
		return su, err
	}
	if in.Password == "" || len(in.Password) > tenantapi.MaxPassword {
		return su, invalid("validation_failed", "body.password", "must have 1 to 128 characters", nil)
	}
	if in.OwnerName == "" {
		su.OwnerName = su.Email[:strings.LastIndexByte(su.Email, '@')]
	}
	if su.OwnerName, err = cleanName("body.owner_name", su.OwnerName, tenantapi.MaxPersonName); err != nil {
		return su, err
	}
	su.plan = s.cfg.SignupPlan
	su.host = su.Subdomain + "." + s.cfg.BaseDomain
	if len(su.host) > tenantapi.MaxHost {
		return su, invalid("invalid_subdomain", "body.subdomain", "makes a host name longer than 253 characters", su.Subdomain)
	}
	return su, nil
}

// signupHash tells a retry of a signup from another signup with the same
// Idempotency-Key. The password is left out: a fast hash of it must not be
// stored. So is the plan, which is the deployment's choice, not the
// request's.
func signupHash(su signup) string {
	h := sha256.New()
	for _, f := range []string{su.StoreName, su.Subdomain, strings.ToLower(su.Email), su.OwnerName} {
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// errKeyRace is a unique violation on the signup key: a concurrent signup
// with the same Idempotency-Key inserted its store first.
var errKeyRace = errors.New("tenant: concurrent signup with the same key")

// provision writes the store as provisioning with its subdomain host: the
// saga's first step, which reserves the subdomain. Two transactions: the
// first works across tenants (it rolls back another store's abandoned
// signup of the subdomain and checks no store holds it), the second writes
// the new store's rows as the new tenant. Between them the unique indexes
// settle a race.
func (s *Service) provision(ctx context.Context, su signup, key, hash string) (tenantdb.Tenant, error) {
	now := s.now()
	id := newTenantID(su.Subdomain)
	set := defaultSettings(su.StoreName)
	t := tenantdb.Tenant{
		ID: id, Name: set.Name, Status: "provisioning", Subdomain: sql.NullString{String: su.Subdomain, Valid: true},
		Plan: su.plan, Logo: set.Logo, Currency: set.Currency, TaxInclusive: set.TaxInclusive, Locale: set.Locale,
		BrandColor: set.BrandColor, AccentColor: set.AccentColor,
		SignupKey: sql.NullString{String: key, Valid: key != ""}, SignupHash: hash,
		CreatedAt: sqldb.Micros(now), UpdatedAt: sqldb.Micros(now),
	}
	err := s.st.Write(sqldb.AllTenants(ctx), func(ctx context.Context, _ *sql.Tx, q *tenantdb.Queries) error {
		stale, err := q.FailStaleSignup(ctx, tenantdb.FailStaleSignupParams{
			UpdatedAt: sqldb.Micros(now), Subdomain: t.Subdomain, Before: sqldb.Micros(now.Add(-staleSignup)),
		})
		if err != nil {
			return fmt.Errorf("release abandoned signup of %s: %w", su.Subdomain, err)
		}
		for _, old := range stale {
			if err := q.DeleteTenantDomains(ctx, old); err != nil {
				return fmt.Errorf("release hosts of abandoned store %s: %w", old, err)
			}
			s.log.WarnContext(ctx, "abandoned signup rolled back", "tenant", old)
		}
		holders, err := q.SubdomainTaken(ctx, tenantdb.SubdomainTakenParams{Subdomain: su.Subdomain, Host: su.host})
		if err != nil {
			return fmt.Errorf("check subdomain %s: %w", su.Subdomain, err)
		}
		if holders > 0 {
			return taken(ErrSubdomainTaken, "body.subdomain")
		}
		return nil
	})
	if err != nil {
		return tenantdb.Tenant{}, fmt.Errorf("signup %s: %w", su.Subdomain, err)
	}
	err = s.st.Write(tenancy.WithID(ctx, id), func(ctx context.Context, _ *sql.Tx, q *tenantdb.Queries) error {
		if _, err := q.InsertTenant(ctx, tenantdb.InsertTenantParams{
			ID: t.ID, Name: t.Name, Status: t.Status, Subdomain: t.Subdomain, Plan: t.Plan, Logo: t.Logo,
			Currency: t.Currency, TaxInclusive: t.TaxInclusive, Locale: t.Locale, BrandColor: t.BrandColor,
			AccentColor: t.AccentColor, SignupKey: t.SignupKey,
			SignupHash: t.SignupHash, CreatedAt: t.CreatedAt,
		}); err != nil {
			return fmt.Errorf("create store %s: %w", id, err)
		}
		if err := q.InsertDomain(ctx, tenantdb.InsertDomainParams{Host: su.host, TenantID: id, Kind: tenantapi.DomainSubdomain, CreatedAt: sqldb.Micros(now)}); err != nil {
			return fmt.Errorf("map host %s to store %s: %w", su.host, id, err)
		}
		return nil
	})
	if sqldb.IsUniqueViolation(err) {
		// The check above and the insert race: the unique
		// indexes settle it. The signup key is the other unique column.
		if key != "" {
			if other, lerr := s.bySignupKey(ctx, key); lerr == nil && other.ID != id {
				return tenantdb.Tenant{}, errKeyRace
			}
		}
		return tenantdb.Tenant{}, taken(ErrSubdomainTaken, "body.subdomain")
	}
	if err != nil {
		return tenantdb.Tenant{}, fmt.Errorf("signup %s: %w", su.Subdomain, err)
	}
	s.log.DebugContext(ctx, "store provisioning", "tenant", id)
	return t, nil
}

// finishSignup runs the saga from the owner step on for store t: create
// the owner, then activate the store. It also resumes an earlier attempt
// (same Idempotency-Key): when the owner exists already the store is made
// active and the answer carries no tokens.
func (s *Service) finishSignup(ctx context.Context, t tenantdb.Tenant, su signup) (tenantapi.SignupResult, bool, error) {
	// The steps after the store row must not stop half-way because the
	// client hung up: a bounded context of their own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ownerTimeout)
	defer cancel()
	ctx = tenancy.WithID(ctx, t.ID)
	res := tenantapi.SignupResult{URL: s.storeURL(su.host, requestPort(ctx))}
	if t.Status == "active" || t.Status == "suspended" {
		st, err := kit.ReadOne(ctx, s.st, func(q *tenantdb.Queries) (tenantapi.Store, error) { return storeView(ctx, q, t) })
		res.Store = st
		return res, false, err
	}
	if t.Status != "provisioning" {
		return res, false, ErrNotFound
	}
	tok, err := s.owners.CreateOwner(ctx, identityapi.OwnerCreate{Email: su.Email, Password: su.Password, Name: su.OwnerName})
	switch {
	case errors.Is(err, identityapi.ErrOwnerExists):
		// An earlier attempt created the owner and lost the answer.
	case err != nil:
		s.rollback(ctx, t.ID)
		return res, false, fmt.Errorf("%w: %w", ErrOwner, ownerRefusal(err))
	default:
		res.OwnerID = tok.Staff.ID
		res.AccessToken, res.RefreshToken, res.TokenType, res.ExpiresIn = tok.AccessToken, tok.RefreshToken, tok.TokenType, tok.ExpiresIn
	}
	now := s.now()
	var view tenantapi.Store
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *tenantdb.Queries) error {
		n, err := q.ActivateTenant(ctx, tenantdb.ActivateTenantParams{UpdatedAt: sqldb.Micros(now), ID: t.ID})
		if err != nil {
			return fmt.Errorf("activate store %s: %w", t.ID, err)
		}
		cur, err := q.GetTenant(ctx, t.ID)
		if err != nil {
			return fmt.Errorf("load store %s: %w", t.ID, err)
		}
		if n == 0 && cur.Status != "active" {
			// Rolled back meanwhile (taken over as abandoned).
			return fmt.Errorf("activate store %s: it is %s", t.ID, cur.Status)
		}
		if view, err = storeView(ctx, q, cur); err != nil {
			return err
		}
		if n == 0 {
			return nil // a concurrent retry activated it and announced it
		}
		set := settingsOf(cur)
		return addEvent(ctx, tx, tenantapi.SubjectTenantCreated, now, tenantapi.TenantCreated{
			TenantID: t.ID, Name: cur.Name, Hosts: view.Hosts, Plan: cur.Plan, Settings: &set, UpdatedAt: sqldb.FromMicros(cur.UpdatedAt),
		})
	})
	if err != nil {
		return res, false, fmt.Errorf("signup %s: %w", t.ID, err)
	}
	s.log.InfoContext(ctx, "store signed up", "tenant", t.ID)
	res.Store = view
	return res, true, nil
}

// ownerRefusal is err as the caller is answered: when the identity service
// refused the owner (weak_password, invalid_email, email_taken…) the
// refusal is the caller's to fix and is passed on (kit.Upstream), its
// fields named as in the signup (identity's body.name is body.owner_name).
// Anything else is not the caller's fault and stays as it is.
func ownerRefusal(err error) error {
	err = kit.Upstream(err)
	var ue *kit.UpstreamError
	if !errors.As(err, &ue) {
		return err
	}
	renamed := *ue.Err
	renamed.Errors = slices.Clone(ue.Err.Errors)
	for i, f := range renamed.Errors {
		if f.Location == "body.name" {
			renamed.Errors[i].Location = "body.owner_name"
		}
	}
	return &kit.UpstreamError{Err: &renamed}
}

// rollback compensates the first step of a failed signup: the store is
// marked failed and its subdomain freed. If this fails too, the store stays
// provisioning, resolves to nothing, and a later signup of its subdomain
// takes it over once it is stale.
func (s *Service) rollback(ctx context.Context, id string) {
	err := s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *tenantdb.Queries) error {
		if _, err := q.FailTenant(ctx, tenantdb.FailTenantParams{UpdatedAt: sqldb.Micros(s.now()), ID: id}); err != nil {
			return fmt.Errorf("mark store %s failed: %w", id, err)
		}
		return q.DeleteTenantDomains(ctx, id)
	})
	if err != nil {
		s.log.ErrorContext(ctx, "roll back signup", "tenant", id, "err", err)
	}
}

// storeURL is the address of a store's host: http on a laptop base domain
// (localhost), https otherwise, on the configured public port or else on
// reqPort, the port the signup request reached (none in its Host: the
// scheme's own).
func (s *Service) storeURL(host string, reqPort int) string {
	scheme, port := "https", s.cfg.PublicPort
	if port == 0 {
		port = reqPort
	}
	if s.cfg.BaseDomain == "localhost" || strings.HasSuffix(s.cfg.BaseDomain, ".localhost") {
		scheme = "http"
	}
	if port == 0 || (scheme == "https" && port == 443) || (scheme == "http" && port == 80) {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + strconv.Itoa(port)
}

type requestPortKey struct{}

// withRequestPort records the port of the signup request's Host header in
// ctx (0 for none), for storeURL.
func withRequestPort(ctx context.Context, hostport string) context.Context {
	_, p, err := net.SplitHostPort(hostport)
	port, perr := strconv.Atoi(p)
	if err != nil || perr != nil || port <= 0 || port > 65535 {
		port = 0
	}
	return context.WithValue(ctx, requestPortKey{}, port)
}

func requestPort(ctx context.Context) int {
	p, _ := ctx.Value(requestPortKey{}).(int)
	return p
}
