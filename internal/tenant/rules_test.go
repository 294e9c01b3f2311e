package tenant

import (
	"errors"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

func TestCleanSubdomain(t *testing.T) {
	for _, tt := range []struct{ in, want, code string }{
		{"acme", "acme", ""},
		{" Acme-Shop ", "acme-shop", ""},
		{"a1b", "a1b", ""},
		{strings.Repeat("a", 63), strings.Repeat("a", 63), ""},
		{strings.Repeat("a", 64), "", "invalid_subdomain"},
		{"ab", "", "invalid_subdomain"},
		{"-ab", "", "invalid_subdomain"},
		{"ab-", "", "invalid_subdomain"},
		{"a_b", "", "invalid_subdomain"},
		{"a.b.c", "", "invalid_subdomain"},
		{"xn--caf-dma", "", "invalid_subdomain"},
		{"café", "", "invalid_subdomain"},
		{"www", "", "subdomain_reserved"},
		{"API", "", "subdomain_reserved"},
		{"mercato", "", "subdomain_reserved"},
	} {
		got, err := cleanSubdomain(tt.in)
		var ie *kit.ValidationError
		switch {
		case tt.code == "" && (err != nil || got != tt.want):
			t.Errorf("cleanSubdomain(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		case tt.code != "" && (!errors.As(err, &ie) || ie.Code != tt.code || !errors.Is(err, ErrInvalid)):
			t.Errorf("cleanSubdomain(%q) = %q, %v; want code %s", tt.in, got, err, tt.code)
		}
	}
}

func TestPatchSettings(t *testing.T) {
	old := defaultSettings("Shop")
	str := func(s string) *string { return &s }
	yes := true
	list := func(s ...string) *[]string { return &s }
	with := func(edit func(*tenantapi.Settings)) tenantapi.Settings {
		s := defaultSettings("Shop")
		edit(&s)
		return s
	}
	for _, tt := range []struct {
		name    string
		upd     tenantapi.StoreUpdate
		want    tenantapi.Settings
		changed bool
		code    string
	}{
		{"nothing", tenantapi.StoreUpdate{}, old, false, ""},
		{"same name", tenantapi.StoreUpdate{Name: str(" Shop ")}, old, false, ""},
		{"markup kept", tenantapi.StoreUpdate{Name: str("<i>Shop</i>")}, with(func(s *tenantapi.Settings) { s.Name = "<i>Shop</i>" }), true, ""},
		{"locale canonical", tenantapi.StoreUpdate{Locale: str("EN-gb")}, with(func(s *tenantapi.Settings) { s.Locale = "en-GB" }), true, ""},
		{"tax same", tenantapi.StoreUpdate{TaxInclusive: &yes}, old, false, ""},
		{"currency", tenantapi.StoreUpdate{Currency: str("JPY")}, with(func(s *tenantapi.Settings) { s.Currency = "JPY" }), true, ""},
		{"bad currency", tenantapi.StoreUpdate{Currency: str("ABC")}, old, false, "invalid_currency"},
		{"bad locale", tenantapi.StoreUpdate{Locale: str("xx-yy-zz-!!")}, old, false, "invalid_locale"},
		{"data logo", tenantapi.StoreUpdate{Logo: str("data:image/png;base64,AAAA")}, old, false, "invalid_logo"},
		{"logo with user", tenantapi.StoreUpdate{Logo: str("https://u:p@x.example/l.png")}, old, false, "invalid_logo"},
		{"newline in name", tenantapi.StoreUpdate{Name: str("a\nb")}, old, false, "validation_failed"},
		{"origins cleaned", tenantapi.StoreUpdate{CORSOrigins: list("HTTPS://Shop.Example.com:443", "http://localhost:3000/", "https://shop.example.com", "http://[::1]:8080")},
			with(func(s *tenantapi.Settings) {
				s.CORSOrigins = []string{"https://shop.example.com", "http://localhost:3000", "http://[::1]:8080"}
			}), true, ""},
		{"no origins", tenantapi.StoreUpdate{CORSOrigins: list()}, old, false, ""},
		{"wildcard origin", tenantapi.StoreUpdate{CORSOrigins: list("*")}, old, false, "invalid_origin"},
		{"origin with a path", tenantapi.StoreUpdate{CORSOrigins: list("https://shop.example.com/app")}, old, false, "invalid_origin"},
		{"origin with a query", tenantapi.StoreUpdate{CORSOrigins: list("https://shop.example.com?x=1")}, old, false, "invalid_origin"},
		{"origin of another scheme", tenantapi.StoreUpdate{CORSOrigins: list("ftp://shop.example.com")}, old, false, "invalid_origin"},
		{"origin with a user", tenantapi.StoreUpdate{CORSOrigins: list("https://u@shop.example.com")}, old, false, "invalid_origin"},
		{"origin with a bad host", tenantapi.StoreUpdate{CORSOrigins: list("https://bad_host.example.com")}, old, false, "invalid_origin"},
		{"origin with a bad port", tenantapi.StoreUpdate{CORSOrigins: list("https://shop.example.com:99999")}, old, false, "invalid_origin"},
		{"colours lowercased", tenantapi.StoreUpdate{BrandColor: str("#0A1B2C"), AccentColor: str("#ffcc00")},
			with(func(s *tenantapi.Settings) { s.BrandColor, s.AccentColor = "#0a1b2c", "#ffcc00" }), true, ""},
		{"accent colour alone", tenantapi.StoreUpdate{AccentColor: str("#000000")},
			with(func(s *tenantapi.Settings) { s.AccentColor = "#000000" }), true, ""},
		{"same colour in capitals", tenantapi.StoreUpdate{BrandColor: str("#1F5F4A")}, old, false, ""},
		{"short colour", tenantapi.StoreUpdate{BrandColor: str("#abc")}, old, false, "invalid_color"},
		{"named colour", tenantapi.StoreUpdate{AccentColor: str("red")}, old, false, "invalid_color"},
		{"colour without #", tenantapi.StoreUpdate{BrandColor: str("1f5f4a0")}, old, false, "invalid_color"},
		{"not hex", tenantapi.StoreUpdate{BrandColor: str("#gggggg")}, old, false, "invalid_color"},
		{"colour with alpha", tenantapi.StoreUpdate{AccentColor: str("#1f5f4a80")}, old, false, "invalid_color"},
		{"colour closing a style", tenantapi.StoreUpdate{AccentColor: str("#1f5f\"")}, old, false, "invalid_color"},
		{"padded colour", tenantapi.StoreUpdate{BrandColor: str(" #1f5f4a")}, old, false, "invalid_color"},
		{"empty colour", tenantapi.StoreUpdate{BrandColor: str("")}, old, false, "invalid_color"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := patchSettings(old, tt.upd)
			var ie *kit.ValidationError
			if tt.code != "" {
				if !errors.As(err, &ie) || ie.Code != tt.code {
					t.Fatalf("err = %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) || changed != tt.changed {
				t.Errorf("patchSettings = %+v %v %v; want %+v %v", got, changed, err, tt.want, tt.changed)
			}
		})
	}
}

// TestBadColourMarksItsField: a refused colour names its own field, so a
// form can put the message beside it.
func TestBadColourMarksItsField(t *testing.T) {
	bad := "rgb(0,0,0)"
	for field, upd := range map[string]tenantapi.StoreUpdate{
		"body.brand_color":  {BrandColor: &bad},
		"body.accent_color": {AccentColor: &bad},
	} {
		_, _, err := patchSettings(defaultSettings("Shop"), upd)
		var ie *kit.ValidationError
		if !errors.As(err, &ie) || len(ie.Fields) != 1 || ie.Fields[0].Field != field || ie.Fields[0].Value != bad {
			t.Errorf("%s: %v, want the field marked with the value", field, err)
		}
	}
}

func TestDefaultSettingsHaveTheDefaultColours(t *testing.T) {
	s := defaultSettings("Shop")
	if s.BrandColor != "#1f5f4a" || s.AccentColor != "#b4461f" {
		t.Errorf("default colours %q %q", s.BrandColor, s.AccentColor)
	}
	other := s
	other.AccentColor = "#000000"
	if s.Equal(other) {
		t.Error("Equal ignores the accent colour")
	}
	other = s
	other.BrandColor = "#000000"
	if s.Equal(other) {
		t.Error("Equal ignores the brand colour")
	}
}
