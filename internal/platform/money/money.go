// Package money is Mercato's one representation of an amount: integer minor
// units plus an ISO 4217 currency code. There are no floats anywhere.
package money

import (
	"errors"
	"fmt"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/text/currency"
)

// Money is an amount in minor units (cents for EUR) of Currency.
type Money struct {
	Amount   int64  `json:"amount" doc:"Amount in minor units of the currency (e.g. cents)." example:"1999"`
	Currency string `json:"currency" doc:"ISO 4217 currency code." example:"EUR" pattern:"^[A-Z]{3}$" patternDescription:"three uppercase letters"`
}

// ErrCurrency is returned for a code that is not an ISO 4217 currency.
var ErrCurrency = errors.New("money: unknown currency")

// ValidCurrency reports whether code is an uppercase ISO 4217 currency code
// in use (not a testing or no-currency code).
func ValidCurrency(code string) error {
	if len(code) != 3 || code == "XXX" || code == "XTS" {
		return fmt.Errorf("%w %q", ErrCurrency, code)
	}
	for _, r := range code {
		if r < 'A' || r > 'Z' {
			return fmt.Errorf("%w %q", ErrCurrency, code)
		}
	}
	if _, err := currency.ParseISO(code); err != nil {
		return fmt.Errorf("%w %q", ErrCurrency, code)
	}
	return nil
}

// Scale is the number of minor-unit digits of the currency (2 for EUR, 0 for JPY).
func Scale(code string) int {
	u, err := currency.ParseISO(code)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}

// String formats m for people and logs, e.g. "EUR 19.99".
func (m Money) String() string {
	s := Scale(m.Currency)
	if s == 0 {
		return fmt.Sprintf("%s %d", m.Currency, m.Amount)
	}
	p := int64(1)
	for range s {
		p *= 10
	}
	sign, a := "", m.Amount
	if a < 0 {
		sign, a = "-", -a
	}
	return fmt.Sprintf("%s %s%d.%0*d", m.Currency, sign, a/p, s, a%p)
}

// Resolve lets huma reject an unknown currency with the field's path when a
// request body carries Money.
func (m *Money) Resolve(_ huma.Context, prefix *huma.PathBuffer) []error {
	if err := ValidCurrency(m.Currency); err != nil {
		return []error{&huma.ErrorDetail{Location: prefix.With("currency"), Message: "unknown ISO 4217 currency", Value: m.Currency}}
	}
	return nil
}
