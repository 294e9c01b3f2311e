package tenant

import (
	"errors"
	"strings"
	"testing"
	"time"

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
		{"legal name trimmed", tenantapi.StoreUpdate{LegalName: str(" Café Ölsen GmbH ")}, with(func(s *tenantapi.Settings) { s.LegalName = "Café Ölsen GmbH" }), true, ""},
		{"legal name emptied", tenantapi.StoreUpdate{LegalName: str("  ")}, old, false, ""},
		{"tax ID uppercased", tenantapi.StoreUpdate{TaxID: str(" de 123456789 ")}, with(func(s *tenantapi.Settings) { s.TaxID = "DE 123456789" }), true, ""},
		{"tax ID with markup", tenantapi.StoreUpdate{TaxID: str("DE<1>")}, old, false, "invalid_tax_id"},
		{"tax ID starting with a dash", tenantapi.StoreUpdate{TaxID: str("-DE1")}, old, false, "invalid_tax_id"},
		{"tax ID too long", tenantapi.StoreUpdate{TaxID: str(strings.Repeat("1", 31))}, old, false, "invalid_tax_id"},
		{"address", tenantapi.StoreUpdate{Address: &tenantapi.Address{Line1: " Hauptstraße 5 ", City: "Köln", PostalCode: "50667", Country: "de"}},
			with(func(s *tenantapi.Settings) {
				s.Address = tenantapi.Address{Line1: "Hauptstraße 5", City: "Köln", PostalCode: "50667", Country: "DE"}
			}), true, ""},
		{"no address", tenantapi.StoreUpdate{Address: &tenantapi.Address{Line1: " "}}, old, false, ""},
		{"address without a city", tenantapi.StoreUpdate{Address: &tenantapi.Address{Line1: "1 Way", Country: "GB"}}, old, false, "validation_failed"},
		{"address without a country", tenantapi.StoreUpdate{Address: &tenantapi.Address{Line1: "1 Way", City: "Leeds"}}, old, false, "invalid_country"},
		{"address in no country", tenantapi.StoreUpdate{Address: &tenantapi.Address{Line1: "1 Way", City: "Leeds", Country: "EU"}}, old, false, "invalid_country"},
		{"address line with a newline", tenantapi.StoreUpdate{Address: &tenantapi.Address{Line1: "1\nWay", City: "Leeds", Country: "GB"}}, old, false, "validation_failed"},
		{"time zone", tenantapi.StoreUpdate{TimeZone: str("America/Sao_Paulo")}, with(func(s *tenantapi.Settings) { s.TimeZone = "America/Sao_Paulo" }), true, ""},
		{"unknown time zone", tenantapi.StoreUpdate{TimeZone: str("Europe/Atlantis")}, old, false, "invalid_time_zone"},
		{"server's time zone", tenantapi.StoreUpdate{TimeZone: str("Local")}, old, false, "invalid_time_zone"},
		{"invoice on shipment", tenantapi.StoreUpdate{InvoiceOn: str("shipped")}, with(func(s *tenantapi.Settings) { s.InvoiceOn = "shipped" }), true, ""},
		{"invoice on payment", tenantapi.StoreUpdate{InvoiceOn: str("paid")}, old, false, "validation_failed"},
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

// TestSettingsFromBeforeInvoices: settings of events from before legal
// details carry no time zone or trigger; they mean UTC and "confirmed".
func TestSettingsFromBeforeInvoices(t *testing.T) {
	var old tenantapi.Settings
	if old.Location() != time.UTC || old.InvoiceTrigger() != tenantapi.InvoiceOnConfirmed {
		t.Errorf("zero settings: %v %q", old.Location(), old.InvoiceTrigger())
	}
	s := defaultSettings("Shop")
	if s.Location() != time.UTC || s.InvoiceTrigger() != tenantapi.InvoiceOnConfirmed {
		t.Errorf("new store: %v %q", s.Location(), s.InvoiceTrigger())
	}
	s.TimeZone = "Asia/Tokyo"
	if s.Location().String() != "Asia/Tokyo" {
		t.Errorf("location %v", s.Location())
	}
	other := s
	other.Address.Country = "JP"
	if s.Equal(other) {
		t.Error("Equal ignores the address")
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
