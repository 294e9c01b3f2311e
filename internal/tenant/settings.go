package tenant

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // store time zones load on machines without a zone database

	"golang.org/x/text/language"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
	"github.com/mercato/mercato/internal/tenant/tenantdb"
)

// defaultSettings are a new store's settings: tenantapi's defaults, which
// services keeping a copy of the settings start from too.
func defaultSettings(name string) tenantapi.Settings {
	return tenantapi.DefaultSettings(name)
}

// cleanOrigins checks the origins a store allows cross-origin requests
// from: each an http(s) origin, scheme://host[:port] with nothing after it
// (the form browsers send in Origin), stored lowercase without the scheme's
// own port; duplicates are dropped. "*" is not an origin: nothing is open
// to every site.
func cleanOrigins(in []string) ([]string, error) {
	if len(in) > tenantapi.MaxOrigins {
		return nil, invalid("invalid_origin", "body.cors_origins", fmt.Sprintf("must have at most %d origins", tenantapi.MaxOrigins), nil)
	}
	out := make([]string, 0, len(in))
	for i, o := range in {
		field := fmt.Sprintf("body.cors_origins[%d]", i)
		bad := invalid("invalid_origin", field, "must be an origin such as https://shop.example.com: http or https, a host, an optional port, no path", o)
		if len(o) > tenantapi.MaxOrigin {
			return nil, bad
		}
		u, err := url.Parse(strings.TrimSpace(o))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
			return nil, bad
		}
		host, port := strings.ToLower(u.Hostname()), u.Port()
		if host == "" || (net.ParseIP(host) == nil && !validHost(strings.TrimSuffix(host, "."), true)) {
			return nil, bad
		}
		if port != "" {
			n, err := strconv.Atoi(port)
			if err != nil || n < 1 || n > 65535 {
				return nil, bad
			}
			if (u.Scheme == "http" && n == 80) || (u.Scheme == "https" && n == 443) {
				port = ""
			}
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		origin := u.Scheme + "://" + host
		if port != "" {
			origin += ":" + port
		}
		if !slices.Contains(out, origin) {
			out = append(out, origin)
		}
	}
	return out, nil
}

// encodeOrigins and decodeOrigins keep origins as a JSON array in TEXT.
func encodeOrigins(o []string) string {
	if len(o) == 0 {
		return "[]"
	}
	raw, _ := json.Marshal(o) // strings always encode
	return string(raw)
}

func decodeOrigins(s string) []string {
	var o []string
	if err := json.Unmarshal([]byte(s), &o); err != nil || o == nil {
		return []string{}
	}
	return o
}

// cleanName checks a display name (a store's, an API key's, a person's)
// by the platform's rule for single-line text (text.Line): 1 to max
// characters after trimming, valid UTF-8, no control characters or bidi
// overrides. Markup is not refused: it is stored as given, and every page
// and answer escapes it.
func cleanName(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if err := text.Line(s, max, true); err != nil {
		return "", invalid("validation_failed", field, err.Error(), s)
	}
	return s, nil
}

// cleanOptional is cleanName for text that may be empty.
func cleanOptional(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	return cleanName(field, s, max)
}

// cleanTaxID checks a VAT or tax registration number: empty, or up to
// MaxTaxID uppercase letters, digits, spaces, dots, dashes and slashes,
// starting with a letter or digit (national formats vary too much to check
// more; EU VAT numbers start with their country's code).
func cleanTaxID(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	bad := invalid("invalid_tax_id", "body.tax_id", fmt.Sprintf("must be at most %d letters, digits, spaces, dots, dashes or slashes, like DE123456789", tenantapi.MaxTaxID), s)
	if len(s) > tenantapi.MaxTaxID {
		return "", bad
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune(" .-/", rune(c))) {
			return "", bad
		}
	}
	return s, nil
}

// cleanAddress checks a store's postal address: every field single-line
// text; all empty is no address; otherwise line 1, city and a country
// (ISO 3166-1 alpha-2, stored uppercase) are required, since an invoice's
// seller address needs them.
func cleanAddress(a tenantapi.Address) (tenantapi.Address, error) {
	var err error
	fields := []struct {
		name string
		v    *string
		max  int
	}{
		{"line1", &a.Line1, 200}, {"line2", &a.Line2, 200}, {"city", &a.City, 100},
		{"region", &a.Region, 100}, {"postal_code", &a.PostalCode, 20},
	}
	for _, f := range fields {
		if *f.v, err = cleanOptional("body.address."+f.name, *f.v, f.max); err != nil {
			return tenantapi.Address{}, err
		}
	}
	a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
	if a.IsZero() {
		return a, nil
	}
	for _, f := range fields {
		if *f.v == "" && (f.name == "line1" || f.name == "city") {
			return tenantapi.Address{}, invalid("validation_failed", "body.address."+f.name, "is required in an address", "")
		}
	}
	if r, err := language.ParseRegion(a.Country); len(a.Country) != 2 || err != nil || !r.IsCountry() {
		return tenantapi.Address{}, invalid("invalid_country", "body.address.country", "must be an ISO 3166-1 alpha-2 country code, like GB or DE", a.Country)
	}
	return a, nil
}

// cleanTimeZone checks an IANA time zone name against the zone database
// built into the binary (time/tzdata), so a store's zone loads on every
// machine. "Local" is refused: it would mean the server's zone.
func cleanTimeZone(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := invalid("invalid_time_zone", "body.time_zone", "must be an IANA time zone name, like Europe/Berlin or UTC", s)
	if s == "" || s == "Local" || len(s) > tenantapi.MaxTimeZone {
		return "", bad
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", bad
	}
	return s, nil
}

// encodeAddress and decodeAddress keep an address as a JSON object in TEXT.
func encodeAddress(a tenantapi.Address) string {
	raw, _ := json.Marshal(a) // strings always encode
	return string(raw)
}

func decodeAddress(s string) tenantapi.Address {
	var a tenantapi.Address
	_ = json.Unmarshal([]byte(s), &a) // a bad value reads as no address
	return a
}

// cleanLogo checks a logo reference: empty, an absolute http(s) URL, or a
// path on this deployment ("/media/…"). Anything else (javascript:, data:,
// protocol-relative //host) is refused, since pages put it in src.
func cleanLogo(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := func(msg string) error {
		return invalid("invalid_logo", "body.logo", msg, s)
	}
	switch {
	case s == "":
		return "", nil
	case len(s) > tenantapi.MaxLogo:
		return "", bad(fmt.Sprintf("must have at most %d characters", tenantapi.MaxLogo))
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '\\' || s[i] == '"' || s[i] == '<' || s[i] == '>' {
			return "", bad("must be printable ASCII without spaces, quotes, angle brackets or backslashes")
		}
	}
	if strings.HasPrefix(s, "/") {
		if strings.HasPrefix(s, "//") {
			return "", bad("must be an http(s) URL or a path starting with a single /")
		}
		if _, err := url.Parse(s); err != nil {
			return "", bad("is not a valid path")
		}
		return s, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", bad("must be an http(s) URL or a path starting with /")
	}
	return s, nil
}

// cleanLocale returns the canonical form of a BCP 47 tag ("en-gb" → "en-GB").
func cleanLocale(s string) (string, error) {
	tag, err := language.Parse(strings.TrimSpace(s))
	if err != nil || tag == language.Und || len(s) > tenantapi.MaxLocale {
		return "", invalid("invalid_locale", "body.locale", "must be a BCP 47 language tag such as en or en-GB", s)
	}
	return tag.String(), nil
}

// cleanColor checks a CSS hex colour, #rrggbb, and returns it lowercase:
// pages put it in a style attribute, so nothing else (names, rgb(), a
// short #rgb, anything that could close the attribute) gets through.
func cleanColor(field, s string) (string, error) {
	bad := invalid("invalid_color", field, "must be a CSS hex colour such as #1f5f4a", s)
	if len(s) != 7 || s[0] != '#' {
		return "", bad
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", bad
		}
	}
	return strings.ToLower(s), nil
}

// patchSettings applies upd to old and reports whether anything changed.
func patchSettings(old tenantapi.Settings, upd tenantapi.StoreUpdate) (tenantapi.Settings, bool, error) {
	n := old
	var err error
	if upd.Name != nil {
		if n.Name, err = cleanName("body.name", *upd.Name, tenantapi.MaxStoreName); err != nil {
			return old, false, err
		}
	}
	if upd.Logo != nil {
		if n.Logo, err = cleanLogo(*upd.Logo); err != nil {
			return old, false, err
		}
	}
	if upd.Currency != nil {
		c := strings.TrimSpace(*upd.Currency)
		if err := money.ValidCurrency(c); err != nil {
			return old, false, invalid("invalid_currency", "body.currency", "must be an uppercase ISO 4217 currency code in use", c)
		}
		n.Currency = c
	}
	if upd.TaxInclusive != nil {
		n.TaxInclusive = *upd.TaxInclusive
	}
	if upd.Locale != nil {
		if n.Locale, err = cleanLocale(*upd.Locale); err != nil {
			return old, false, err
		}
	}
	if upd.CORSOrigins != nil {
		if n.CORSOrigins, err = cleanOrigins(*upd.CORSOrigins); err != nil {
			return old, false, err
		}
	}
	if upd.BrandColor != nil {
		if n.BrandColor, err = cleanColor("body.brand_color", *upd.BrandColor); err != nil {
			return old, false, err
		}
	}
	if upd.AccentColor != nil {
		if n.AccentColor, err = cleanColor("body.accent_color", *upd.AccentColor); err != nil {
			return old, false, err
		}
	}
	if upd.LegalName != nil {
		if n.LegalName, err = cleanOptional("body.legal_name", *upd.LegalName, tenantapi.MaxLegalName); err != nil {
			return old, false, err
		}
	}
	if upd.TaxID != nil {
		if n.TaxID, err = cleanTaxID(*upd.TaxID); err != nil {
			return old, false, err
		}
	}
	if upd.Address != nil {
		if n.Address, err = cleanAddress(*upd.Address); err != nil {
			return old, false, err
		}
	}
	if upd.TimeZone != nil {
		if n.TimeZone, err = cleanTimeZone(*upd.TimeZone); err != nil {
			return old, false, err
		}
	}
	if upd.InvoiceOn != nil {
		switch *upd.InvoiceOn {
		case tenantapi.InvoiceOnConfirmed, tenantapi.InvoiceOnShipped:
			n.InvoiceOn = *upd.InvoiceOn
		default:
			return old, false, invalid("validation_failed", "body.invoice_on", "must be confirmed or shipped", *upd.InvoiceOn)
		}
	}
	return n, !n.Equal(old), nil
}

// Store returns the store of ctx's tenant.
func (s *Service) Store(ctx context.Context) (tenantapi.Store, error) {
	id, err := currentTenant(ctx)
	if err != nil {
		return tenantapi.Store{}, err
	}
	return kit.ReadOne(ctx, s.st, func(q *tenantdb.Queries) (tenantapi.Store, error) {
		t, err := loadTenant(ctx, q, id)
		if err != nil {
			return tenantapi.Store{}, err
		}
		return storeView(ctx, q, t)
	})
}

// UpdateStore applies a partial update to the settings of ctx's store and
// announces it with tenant.updated.v1 (the tenant service owns the store
// settings; pricing applies currency and tax mode from the event). An
// update that changes nothing writes and announces nothing.
func (s *Service) UpdateStore(ctx context.Context, upd tenantapi.StoreUpdate) (tenantapi.Store, error) {
	id, err := currentTenant(ctx)
	if err != nil {
		return tenantapi.Store{}, err
	}
	var out tenantapi.Store
	// The row is read and written with the optimistic updated_at check
	// (PostgreSQL transactions here are read committed): a concurrent
	// update makes the write miss, and the whole update is tried again on
	// the new row.
	for range 3 {
		err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *tenantdb.Queries) error {
			var err error
			out, err = s.updateSettings(ctx, tx, q, id, upd)
			return err
		})
		if !errors.Is(err, ErrConflict) {
			break
		}
	}
	if err != nil {
		return tenantapi.Store{}, err
	}
	return out, nil
}

// updateSettings applies upd to the settings of store id in tx, with the
// optimistic updated_at check (ErrConflict when another write got there
// first), and announces a change with tenant.updated.v1.
func (s *Service) updateSettings(ctx context.Context, tx *sql.Tx, q *tenantdb.Queries, id string, upd tenantapi.StoreUpdate) (tenantapi.Store, error) {
	t, err := loadTenant(ctx, q, id)
	if err != nil {
		return tenantapi.Store{}, err
	}
	set, changed, err := patchSettings(settingsOf(t), upd)
	if err != nil {
		return tenantapi.Store{}, err
	}
	if changed {
		now := s.now()
		if now.UnixMicro() <= t.UpdatedAt {
			now = sqldb.FromMicros(t.UpdatedAt + 1) // updated_at must move for the check
		}
		n, err := q.UpdateSettings(ctx, tenantdb.UpdateSettingsParams{
			Name: set.Name, Logo: set.Logo, Currency: set.Currency, TaxInclusive: set.TaxInclusive,
			Locale: set.Locale, CorsOrigins: encodeOrigins(set.CORSOrigins), BrandColor: set.BrandColor, AccentColor: set.AccentColor,
			LegalName: set.LegalName, TaxID: set.TaxID, Address: encodeAddress(set.Address), TimeZone: set.TimeZone, InvoiceOn: set.InvoiceOn,
			UpdatedAt: sqldb.Micros(now), ID: id, OldUpdatedAt: t.UpdatedAt,
		})
		if err != nil {
			return tenantapi.Store{}, fmt.Errorf("update settings of %s: %w", id, err)
		}
		if n == 0 {
			return tenantapi.Store{}, ErrConflict
		}
		if err := addEvent(ctx, tx, tenantapi.SubjectTenantUpdated, now, tenantapi.TenantUpdated{TenantID: id, Settings: set, UpdatedAt: sqldb.FromMicros(sqldb.Micros(now))}); err != nil {
			return tenantapi.Store{}, err
		}
		t.Name, t.Logo, t.Currency, t.TaxInclusive, t.Locale = set.Name, set.Logo, set.Currency, set.TaxInclusive, set.Locale
		t.CorsOrigins = encodeOrigins(set.CORSOrigins)
		t.BrandColor, t.AccentColor = set.BrandColor, set.AccentColor
		t.LegalName, t.TaxID, t.Address, t.TimeZone, t.InvoiceOn = set.LegalName, set.TaxID, encodeAddress(set.Address), set.TimeZone, set.InvoiceOn
		t.UpdatedAt = sqldb.Micros(now)
	}
	return storeView(ctx, q, t)
}
