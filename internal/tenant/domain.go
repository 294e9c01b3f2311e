package tenant

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
	"github.com/mercato/mercato/internal/tenant/tenantdb"
)

// validLabel reports whether s is a DNS label: 1 to 63 of a-z, 0-9 and '-',
// not starting or ending with '-'.
func validLabel(s string) bool {
	if len(s) < 1 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validHost reports whether h is a lowercase host name of labels; single
// allows one label (localhost). A last label of digits only is refused: IP
// addresses are not store domains.
func validHost(h string, single bool) bool {
	if h == "" || len(h) > tenantapi.MaxHost {
		return false
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 && !single {
		return false
	}
	for _, l := range labels {
		if !validLabel(l) {
			return false
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// cleanDomain checks a custom domain: a lowercase host name of two or more
// labels, outside the base domain (whose names are signup subdomains).
func (s *Service) cleanDomain(h string) (string, error) {
	h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
	bad := func(msg string) error {
		return invalid("invalid_domain", "body.host", msg, h)
	}
	if !validHost(h, false) {
		return "", bad("must be a host name such as shop.example.com (letters, digits, '-' and dots; no scheme, port or path)")
	}
	if h == s.cfg.BaseDomain || strings.HasSuffix(h, "."+s.cfg.BaseDomain) {
		return "", bad("must not be under the base domain " + s.cfg.BaseDomain)
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "", bad("must not be a localhost name")
	}
	return h, nil
}

// Domains lists the hosts of ctx's store.
func (s *Service) Domains(ctx context.Context) ([]tenantapi.Domain, error) {
	id, err := currentTenant(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := kit.ReadOne(ctx, s.st, func(q *tenantdb.Queries) ([]tenantdb.Domain, error) { return q.ListDomains(ctx, id) })
	if err != nil {
		return nil, fmt.Errorf("list domains of %s: %w", id, err)
	}
	out := make([]tenantapi.Domain, len(ds))
	for i, d := range ds {
		out[i] = toDomain(d)
	}
	return out, nil
}

// AddDomain maps a custom domain to ctx's store. A host mapped to any store
// (this one included) is ErrDomainTaken.
func (s *Service) AddDomain(ctx context.Context, host string) (tenantapi.Domain, error) {
	id, err := currentTenant(ctx)
	if err != nil {
		return tenantapi.Domain{}, err
	}
	h, err := s.cleanDomain(host)
	if err != nil {
		return tenantapi.Domain{}, err
	}
	d := tenantdb.Domain{Host: h, TenantID: id, Kind: tenantapi.DomainCustom, CreatedAt: sqldb.Micros(s.now())}
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *tenantdb.Queries) error {
		if _, err := loadTenant(ctx, q, id); err != nil {
			return err
		}
		if _, err := q.GetDomain(ctx, h); err == nil {
			return taken(ErrDomainTaken, "body.host")
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up domain %s: %w", h, err)
		}
		n, err := q.CountCustomDomains(ctx, id)
		if err != nil {
			return fmt.Errorf("count domains of %s: %w", id, err)
		}
		if n >= tenantapi.MaxDomains {
			return ErrTooManyDomains
		}
		return q.InsertDomain(ctx, tenantdb.InsertDomainParams{Host: d.Host, TenantID: id, Kind: d.Kind, CreatedAt: d.CreatedAt})
	})
	if sqldb.IsUniqueViolation(err) {
		return tenantapi.Domain{}, taken(ErrDomainTaken, "body.host")
	}
	if err != nil {
		return tenantapi.Domain{}, fmt.Errorf("add domain %s: %w", h, err)
	}
	s.log.InfoContext(ctx, "domain added", "tenant", id, "host", h)
	return toDomain(d), nil
}

// RemoveDomain unmaps a custom domain of ctx's store. Processes that
// resolved it keep their cached answer up to tenantapi.KnownTTL.
func (s *Service) RemoveDomain(ctx context.Context, host string) error {
	id, err := currentTenant(ctx)
	if err != nil {
		return err
	}
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *tenantdb.Queries) error {
		d, err := q.GetDomain(ctx, h)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && d.TenantID != id) {
			return ErrDomainNotFound
		}
		if err != nil {
			return fmt.Errorf("look up domain %s: %w", h, err)
		}
		if d.Kind != tenantapi.DomainCustom {
			return ErrDomainProtected
		}
		_, err = q.DeleteCustomDomain(ctx, tenantdb.DeleteCustomDomainParams{TenantID: id, Host: h})
		return err
	})
	if err != nil {
		return fmt.Errorf("remove domain %s: %w", h, err)
	}
	s.log.InfoContext(ctx, "domain removed", "tenant", id, "host", h)
	return nil
}
