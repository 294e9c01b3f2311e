package storefront

import (
	"golang.org/x/text/language"

	"github.com/mercato/mercato/internal/platform/page"
)

// countries are the shipping countries the checkout offers, by English
// name: Europe and a few beyond. The order service checks any ISO 3166-1
// code; the store's shipping methods and tax rates say where it really
// delivers, and the checkout marks a country they do not serve.
var countries = []page.Option{
	{Value: "AU", Label: "Australia"}, {Value: "AT", Label: "Austria"}, {Value: "BE", Label: "Belgium"},
	{Value: "BG", Label: "Bulgaria"}, {Value: "CA", Label: "Canada"}, {Value: "HR", Label: "Croatia"},
	{Value: "CY", Label: "Cyprus"}, {Value: "CZ", Label: "Czechia"}, {Value: "DK", Label: "Denmark"},
	{Value: "EE", Label: "Estonia"}, {Value: "FI", Label: "Finland"}, {Value: "FR", Label: "France"},
	{Value: "DE", Label: "Germany"}, {Value: "GR", Label: "Greece"}, {Value: "HU", Label: "Hungary"},
	{Value: "IS", Label: "Iceland"}, {Value: "IE", Label: "Ireland"}, {Value: "IT", Label: "Italy"},
	{Value: "JP", Label: "Japan"}, {Value: "LV", Label: "Latvia"}, {Value: "LI", Label: "Liechtenstein"},
	{Value: "LT", Label: "Lithuania"}, {Value: "LU", Label: "Luxembourg"}, {Value: "MT", Label: "Malta"},
	{Value: "NL", Label: "Netherlands"}, {Value: "NZ", Label: "New Zealand"}, {Value: "NO", Label: "Norway"},
	{Value: "PL", Label: "Poland"}, {Value: "PT", Label: "Portugal"}, {Value: "RO", Label: "Romania"},
	{Value: "SK", Label: "Slovakia"}, {Value: "SI", Label: "Slovenia"}, {Value: "ES", Label: "Spain"},
	{Value: "SE", Label: "Sweden"}, {Value: "CH", Label: "Switzerland"}, {Value: "GB", Label: "United Kingdom"},
	{Value: "US", Label: "United States"},
}

// countryOptions are the country select's options, a choice to make first.
func countryOptions() []page.Option {
	return append([]page.Option{{Value: "", Label: "Choose a country"}}, countries...)
}

// countryName is the English name of a country code the checkout offers,
// else the code itself.
func countryName(code string) string {
	for _, c := range countries {
		if c.Value == code {
			return c.Label
		}
	}
	return code
}

// storeCountry is the country of a store's locale ("de-DE" → "DE"), the
// checkout's first guess; "" when the locale names none.
func storeCountry(locale string) string {
	tag, err := language.Parse(locale)
	if err != nil {
		return ""
	}
	r, conf := tag.Region()
	if conf < language.High {
		return ""
	}
	return r.String()
}
