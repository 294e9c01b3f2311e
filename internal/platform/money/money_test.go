package money

import "testing"

func TestValidCurrency(t *testing.T) {
	for _, tt := range []struct {
		code string
		ok   bool
	}{
		{"EUR", true}, {"USD", true}, {"JPY", true}, {"CHF", true},
		{"eur", false}, {"EU", false}, {"EURO", false}, {"ABC", false}, {"XXX", false}, {"XTS", false}, {"", false},
	} {
		if err := ValidCurrency(tt.code); (err == nil) != tt.ok {
			t.Errorf("ValidCurrency(%q) = %v, want ok=%v", tt.code, err, tt.ok)
		}
	}
}

func TestString(t *testing.T) {
	for _, tt := range []struct {
		m    Money
		want string
	}{
		{Money{1999, "EUR"}, "EUR 19.99"},
		{Money{5, "EUR"}, "EUR 0.05"},
		{Money{-1250, "USD"}, "USD -12.50"},
		{Money{500, "JPY"}, "JPY 500"},
		{Money{1234, "BHD"}, "BHD 1.234"},
	} {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.m, got, tt.want)
		}
	}
}
