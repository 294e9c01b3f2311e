package csvio

import (
	"strings"
	"testing"
)

func TestScan(t *testing.T) {
	for _, tt := range []struct {
		column, value string
		allow         Allowed
		want          PII // "" for nothing found
		masked        string
	}{
		// Card numbers: Luhn, 13 to 19 digits, spaces or dashes between.
		{"description", "pay with 4111 1111 1111 1111 please", Allowed{}, PIICard, "****1111"},
		{"note", "4111-1111-1111-1111", Allowed{}, PIICard, "****1111"},
		{"note", "5500005555555559", Allowed{}, PIICard, "****5559"},
		{"note", "378282246310005", Allowed{}, PIICard, "****0005"},
		{"note", "4111111111111112", Allowed{}, "", ""}, // Luhn fails
		{"barcode", "5901234123457", Allowed{}, "", ""}, // a valid EAN-13, though Luhn-valid
		{"sku", "TEE-S-ECRU", Allowed{}, "", ""},        // letters
		{"price", "24.00", Allowed{}, "", ""},           // a price
		{"note", "1234567890123456", Allowed{}, "", ""}, // no scheme starts with 1
		// IBANs: country length and mod 97.
		{"note", "IBAN GB82 WEST 1234 5698 7654 32", Allowed{}, PIIIBAN, "****5432"},
		{"note", "de89370400440532013000", Allowed{}, PIIIBAN, "****3000"},
		{"note", "GB82WEST12345698765433", Allowed{}, "", ""}, // check digits wrong
		// National IDs.
		{"note", "SSN 123-45-6789", Allowed{}, PIINationalID, "****6789"},
		{"note", "NI: JG 10 34 56 D", Allowed{}, PIINationalID, "****456D"},
		{"note", "AB123456C", Allowed{}, PIINationalID, "****456C"},
		{"note", "GB123456A", Allowed{}, "", ""}, // GB is no NINO prefix
		{"note", "DNI 12345678Z", Allowed{}, PIINationalID, "****678Z"},
		{"note", "X1234567L", Allowed{}, PIINationalID, "****567L"},
		{"note", "12345678A", Allowed{}, "", ""}, // wrong DNI letter
		{"note", "1 84 12 76 451 089 46", Allowed{}, PIINationalID, "****8946"},
		// Passwords: a column named for one, or a hash anywhere.
		{"Password", "hunter2", Allowed{}, PIIPassword, "****"},
		{"user_pwd", "x", Allowed{}, PIIPassword, "****"},
		{"note", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", Allowed{}, PIIPassword, "****"},
		{"note", "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", Allowed{}, PIIPassword, "****"},
		// Emails and phones only where they belong.
		{"description", "write to ada@example.com", Allowed{}, PIIEmail, "a***@example.com"},
		{"email", "ada@example.com", Allowed{Email: true}, "", ""},
		{"description", "call +44 20 7946 0958", Allowed{}, PIIPhone, "****0958"},
		{"description", "call (555) 123-4567 now", Allowed{}, PIIPhone, "****4567"},
		{"description", "01 23 45 67 89", Allowed{}, PIIPhone, "****6789"},
		{"phone", "+44 20 7946 0958", Allowed{Phone: true}, "", ""},
		{"description", "sizes 10 12 14 16 18", Allowed{}, "", ""},
		{"description", "made 2024-01-15, 350 ml", Allowed{}, "", ""},
		{"description", "1200 x 800 mm, 25.50 EUR", Allowed{}, "", ""},
	} {
		f, ok := Scan(tt.column, tt.value, tt.allow)
		if tt.want == "" {
			if ok {
				t.Errorf("Scan(%q, %q) = %v, want nothing", tt.column, tt.value, f)
			}
			continue
		}
		if !ok || f.Kind != tt.want || f.Masked != tt.masked {
			t.Errorf("Scan(%q, %q) = %+v, %v; want %s masked %q", tt.column, tt.value, f, ok, tt.want, tt.masked)
		}
		if ok && len(tt.value) > 6 && strings.Contains(f.Masked+f.Reason, tt.value) {
			t.Errorf("Scan(%q): the finding repeats the value", tt.value)
		}
	}
}

// TestNationalIDRules: numbers of the right shape that are never issued
// are not national IDs.
func TestNationalIDRules(t *testing.T) {
	for _, v := range []string{"666-45-6789", "000-12-3456", "912-34-5678", "123-00-4567", "BG123456A", "QQ123456C", "12345678A", "1 84 12 76 451 089 47"} {
		if what, _, ok := findNationalID(v); ok {
			t.Errorf("findNationalID(%q) = %s", v, what)
		}
	}
}

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+33 1": "'+33 1", "-5": "'-5", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"plain": "plain", "": "", "a=b": "a=b",
	} {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePrice(t *testing.T) {
	for _, tt := range []struct {
		in, cur string
		want    int64
		ok      bool
	}{
		{"24.00", "EUR", 2400, true}, {"24", "EUR", 2400, true}, {"24,5", "EUR", 2450, true}, {"0.99", "USD", 99, true},
		{"1500", "JPY", 1500, true}, {"1500.5", "JPY", 0, false}, {"1.999", "EUR", 0, false}, {"-1", "EUR", 0, false},
		{"", "EUR", 0, false}, {"abc", "EUR", 0, false}, {"1.", "EUR", 0, false},
	} {
		got, err := ParsePrice(tt.in, tt.cur)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParsePrice(%q, %s) = %d, %v", tt.in, tt.cur, got, err)
		}
	}
	for _, tt := range []struct {
		n   int64
		cur string
		s   string
	}{{2400, "EUR", "24.00"}, {5, "EUR", "0.05"}, {1500, "JPY", "1500"}} {
		if got := FormatPrice(tt.n, tt.cur); got != tt.s {
			t.Errorf("FormatPrice(%d, %s) = %q, want %q", tt.n, tt.cur, got, tt.s)
		}
	}
}

func TestNormalizeHeader(t *testing.T) {
	for in, want := range map[string]string{
		"Variant SKU": "variant_sku", "Body (HTML)": "body_html", "\ufeffHandle": "handle", " Image Src ": "image_src",
		"Google Shopping / Gender": "google_shopping_gender",
	} {
		if got := NormalizeHeader(in); got != want {
			t.Errorf("NormalizeHeader(%q) = %q, want %q", in, got, want)
		}
	}
}
