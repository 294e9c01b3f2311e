package tenantapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

func TestCheckLimit(t *testing.T) {
	free := tenantapi.Limits{Plan: "free", Products: 100, Staff: 2}
	unlimited := tenantapi.Limits{Plan: "enterprise", Products: tenantapi.Unlimited, Staff: tenantapi.Unlimited}
	for _, tt := range []struct {
		name     string
		limits   tenantapi.Limits
		resource tenantapi.Resource
		current  int64
		wantErr  bool
	}{
		{"below", free, tenantapi.ResourceProducts, 99, false},
		{"at limit", free, tenantapi.ResourceProducts, 100, true},
		{"above limit", free, tenantapi.ResourceProducts, 250, true},
		{"staff below", free, tenantapi.ResourceStaff, 1, false},
		{"staff at", free, tenantapi.ResourceStaff, 2, true},
		{"unlimited", unlimited, tenantapi.ResourceProducts, 1 << 40, false},
		{"unknown resource", free, tenantapi.Resource("widgets"), 1 << 40, false},
		{"zero limit", tenantapi.Limits{Plan: "x"}, tenantapi.ResourceStaff, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tenantapi.CheckLimit(tt.limits, tt.resource, tt.current)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckLimit = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			var le *tenantapi.LimitError
			if !errors.Is(err, tenantapi.ErrLimitReached) || !errors.As(err, &le) || le.Status() != 403 || le.Resource != tt.resource {
				t.Errorf("error %#v: want a *LimitError matching ErrLimitReached, status 403", err)
			}
		})
	}
}

func TestLooksLikeAPIKey(t *testing.T) {
	for in, want := range map[string]bool{"pk_live_ABC": true, "sk_live_ABC": true, "eyJhbGciOi": false, "": false, "pk_test_x": false} {
		if got := tenantapi.LooksLikeAPIKey(in); got != want {
			t.Errorf("LooksLikeAPIKey(%q) = %v", in, got)
		}
	}
}

// TestJSONEscapesHTML: names keep their markup but never come out as markup,
// and an embedded type's marshaller does not swallow the outer fields.
func TestJSONEscapesHTML(t *testing.T) {
	for _, v := range []any{
		tenantapi.Store{Settings: tenantapi.Settings{Name: "<b>x</b>"}},
		tenantapi.APIKey{Name: "<b>x</b>"},
		tenantapi.APIKeyCreated{APIKey: tenantapi.APIKey{Name: "<b>x</b>"}, Key: "pk_live_K"},
	} {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "<b>") || !strings.Contains(string(raw), `\u003cb\u003e`) {
			t.Errorf("%T: %s", v, raw)
		}
	}
	var k tenantapi.APIKeyCreated
	raw, _ := json.Marshal(tenantapi.APIKeyCreated{APIKey: tenantapi.APIKey{ID: "id1"}, Key: "pk_live_K"})
	if err := json.Unmarshal(raw, &k); err != nil || k.Key != "pk_live_K" || k.ID != "id1" {
		t.Errorf("round trip = %+v %v (%s)", k, err, raw)
	}
}

type limitsFunc func(ctx context.Context) (tenantapi.Limits, error)

func (f limitsFunc) Limits(ctx context.Context) (tenantapi.Limits, error) { return f(ctx) }

func TestReadLimits(t *testing.T) {
	unavailable := errors.New("limits unavailable")
	pro := tenantapi.Limits{Plan: "pro", Products: 100, Staff: tenantapi.Unlimited}
	read := func(l tenantapi.Limits, err error) tenantapi.LimitsReader {
		return limitsFunc(func(context.Context) (tenantapi.Limits, error) { return l, err })
	}
	if l, err := tenantapi.ReadLimits(t.Context(), nil, tenantapi.ResourceProducts, unavailable); l != nil || err != nil {
		t.Errorf("no reader: %v, %v; want no limits", l, err)
	}
	if l, err := tenantapi.ReadLimits(t.Context(), read(pro, nil), tenantapi.ResourceProducts, unavailable); err != nil || l == nil || *l != pro {
		t.Errorf("limited resource: %v, %v; want the plan's limits", l, err)
	}
	if l, err := tenantapi.ReadLimits(t.Context(), read(pro, nil), tenantapi.ResourceStaff, unavailable); l != nil || err != nil {
		t.Errorf("unlimited resource: %v, %v; want no limits", l, err)
	}
	down := errors.New("connection refused")
	if l, err := tenantapi.ReadLimits(t.Context(), read(tenantapi.Limits{}, down), tenantapi.ResourceProducts, unavailable); l != nil || !errors.Is(err, unavailable) || !errors.Is(err, down) {
		t.Errorf("tenant service down: %v, %v; want an error wrapping both", l, err)
	}
}
