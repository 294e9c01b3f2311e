package text_test

import (
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/platform/text"
)

func TestChecks(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"sku", text.SKU, "MUG-1", true},
		{"sku dots underscores", text.SKU, "mug_1.2", true},
		{"sku longest", text.SKU, long(text.MaxSKU), true},
		{"sku too long", text.SKU, long(text.MaxSKU + 1), false},
		{"sku empty", text.SKU, "", false},
		{"sku path traversal", text.SKU, "../../etc/passwd", false},
		{"sku slash", text.SKU, "A/B", false},
		{"sku leading dot", text.SKU, ".hidden", false},
		{"sku space", text.SKU, "MUG 1", false},
		{"sku NUL", text.SKU, "MUG\x001", false},
		{"sku query", text.SKU, "MUG?x=1", false},
		{"sku non-ASCII", text.SKU, "KAFFEE-Ä", false},

		{"email", text.Email, "ada@example.com", true},
		{"email upper case", text.Email, "Ada@Example.COM", true},
		{"email display name", text.Email, "Ada <ada@example.com>", false},
		{"email no dot", text.Email, "ada@localhost", false},
		{"email spaces around", text.Email, " ada@example.com", false},
		{"email NUL", text.Email, "ada\x00@example.com", false},
		{"email too long", text.Email, long(250) + "@x.io", false},
		{"email long local part", text.Email, long(65) + "@example.com", false},

		{"name", text.Name, "Ada Lovelace", true},
		{"name non-Latin", text.Name, "Ада Лавлейс", true},
		{"name RTL with marks", text.Name, "\u05d0\u05d3\u05d4\u200f", true},
		{"name blank", text.Name, "   ", false},
		{"name NUL", text.Name, "Ada\x00", false},
		{"name BEL", text.Name, "Ada\a", false},
		{"name newline", text.Name, "Ada\nLovelace", false},
		{"name tab", text.Name, "Ada\tLovelace", false},
		{"name DEL", text.Name, "Ada\x7f", false},
		{"name C1", text.Name, "Ada\u0085", false},
		{"name RLO", text.Name, "Ada\u202eecalevoL", false},
		{"name LRE", text.Name, "\u202aAda", false},
		{"name isolate", text.Name, "\u2066Ada\u2069", false},
		{"name line separator", text.Name, "Ada\u2028Lovelace", false},
		{"name invalid UTF-8", text.Name, "Ada\xff", false},
		{"name longest", text.Name, strings.Repeat("é", text.MaxName), true},
		{"name too long", text.Name, strings.Repeat("é", text.MaxName+1), false},

		{"title", text.Title, "Mug <b>blue</b>", true},
		{"title too long", text.Title, long(text.MaxTitle + 1), false},
		{"title U+202E", text.Title, "Mug\u202e", false},

		{"multi-line", func(s string) error { return text.Lines(s, 100, false) }, "one\r\ntwo\tthree", true},
		{"multi-line BEL", func(s string) error { return text.Lines(s, 100, false) }, "one\atwo", false},
		{"multi-line RLO", func(s string) error { return text.Lines(s, 100, false) }, "one\u202etwo", false},
		{"multi-line invalid UTF-8", func(s string) error { return text.Lines(s, 100, false) }, "\xc3\x28", false},

		{"address line", func(s string) error { return text.AddressLine(s, true) }, "Hauptstraße 1", true},
		{"address line NUL", func(s string) error { return text.AddressLine(s, true) }, "Hauptstraße\x001", false},
		{"address line optional empty", func(s string) error { return text.AddressLine(s, false) }, "", true},
		{"address line required empty", func(s string) error { return text.AddressLine(s, true) }, "", false},
		{"city", text.City, "Berlin", true},
		{"city newline", text.City, "Ber\nlin", false},
		{"region empty", text.Region, "", true},

		{"postal code", func(s string) error { return text.PostalCode(s, true) }, "SW1A 1AA", true},
		{"postal code dash", func(s string) error { return text.PostalCode(s, true) }, "01310-100", true},
		{"postal code digits", func(s string) error { return text.PostalCode(s, true) }, "10115", true},
		{"postal code optional empty", func(s string) error { return text.PostalCode(s, false) }, "", true},
		{"postal code required empty", func(s string) error { return text.PostalCode(s, true) }, "", false},
		{"postal code double space", func(s string) error { return text.PostalCode(s, true) }, "SW1A  1AA", false},
		{"postal code BEL", func(s string) error { return text.PostalCode(s, true) }, "10115\a", false},
		{"postal code markup", func(s string) error { return text.PostalCode(s, true) }, "<b>", false},

		{"country", text.Country, "DE", true},
		{"country lower case", text.Country, "de", false},
		{"country alias", text.Country, "UK", false},
		{"country macro-region", text.Country, "EU", false},
		{"country private use", text.Country, "XA", false},
		{"country three letters", text.Country, "DEU", false},

		{"slug", text.Slug, "blue-mug-2", true},
		{"slug double dash", text.Slug, "blue--mug", false},
		{"slug upper case", text.Slug, "Blue", false},
		{"coupon", text.Coupon, "WELCOME_10-x", true},
		{"coupon space", text.Coupon, "WELCOME 10", false},
		{"coupon NUL", text.Coupon, "WELCOME\x00", false},
		{"code", text.Code, "express_eu", true},
		{"code upper case", text.Code, "Express", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.check(tt.in)
			if got := err == nil; got != tt.ok {
				t.Fatalf("check(%q) = %v, want ok %v", tt.in, err, tt.ok)
			}
			if err != nil && err.Error() == "" {
				t.Fatalf("check(%q) gave an empty message", tt.in)
			}
		})
	}
}

// TestOneMessage: every kind refuses control characters, bidi overrides
// and invalid UTF-8 with the same words, whichever field holds them.
func TestOneMessage(t *testing.T) {
	t.Parallel()
	checks := map[string]func(string) error{
		"name":  text.Name,
		"title": text.Title,
		"line":  func(s string) error { return text.AddressLine(s, true) },
		"city":  text.City,
		"lines": func(s string) error { return text.Lines(s, 100, true) },
		"email": text.Email,
	}
	for kind, check := range checks {
		for _, bad := range []string{"a\x00b@x.io", "a\ab@x.io", "a\u202eb@x.io", "a\u2067b@x.io", "a\u009bb@x.io"} {
			if err := check(bad); err == nil || err.Error() != text.MsgControl {
				t.Errorf("%s(%q) = %v, want %q", kind, bad, err, text.MsgControl)
			}
		}
		if err := check("a\xffb@x.io"); err == nil || err.Error() != text.MsgUTF8 {
			t.Errorf("%s(invalid UTF-8) = %v, want %q", kind, err, text.MsgUTF8)
		}
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	for r := rune(0); r < 0x3000; r++ {
		want := r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
			r == 0x2028 || r == 0x2029
		single := text.Refused(r, false)
		if single != want {
			t.Errorf("Refused(%U, single line) = %v, want %v", r, single, want)
		}
		multi := text.Refused(r, true)
		wantMulti := want && r != '\n' && r != '\r' && r != '\t' && r != 0x2028 && r != 0x2029
		if multi != wantMulti {
			t.Errorf("Refused(%U, multi-line) = %v, want %v", r, multi, wantMulti)
		}
	}
}

// TestCSVCell: formula starts are neutralised (signed numbers too: the
// writer knows its numbers, the rule does not), plain text kept,
// and CSVValue reads every cell back as it was.
func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")", "+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
		"-2+3": "'-2+3", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"-12.50": "'-12.50", "+44 20 7946 0000": "'+44 20 7946 0000", "Café": "Café", "": "", "a=b": "a=b", "'quoted": "'quoted",
	} {
		if got := text.CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
		if back := text.CSVValue(text.CSVCell(in)); back != in {
			t.Errorf("CSVValue(CSVCell(%q)) = %q", in, back)
		}
	}
}
