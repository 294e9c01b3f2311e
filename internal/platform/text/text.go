// Package text is Mercato's one definition of each kind of text value that
// more than one service keeps: SKUs, email addresses, names and titles,
// address fields, country codes, slugs, coupon and shipping method codes.
// Every service checks these values with this package (and describes them
// with its constants in the OpenAPI document), so a value one service
// accepts is never one another refuses. Currencies are the money package's.
//
// Every text value, of any kind, is valid UTF-8 without control characters
// and without the Unicode bidirectional embeddings, overrides and isolates
// that make text display differently from what it says. Multi-line fields
// (descriptions, notes) may also hold line feeds, carriage returns and
// tabs; single-line fields may not. The HTTP platform applies the
// multi-line rule to every string of every request; the single-line rule
// and the rest of each kind are applied by the services with the functions
// here.
//
// The checks return an *Error whose message is written for the API's users,
// to be reported against the field that holds the value.
package text

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// The limits of each kind, in characters (runes).
const (
	MaxSKU         = 64
	MaxEmail       = 254 // bytes; RFC 5321 allows no more
	MaxName        = 100 // a person's, a store's, a category's name
	MaxTitle       = 200 // a product's or variant's title
	MaxAddressLine = 200
	MaxCity        = 100
	MaxRegion      = 100
	MaxPostalCode  = 20
	MaxSlug        = 100
	MaxCoupon      = 64
	MaxCode        = 50
)

// The patterns of the kinds that have one, as written into the OpenAPI
// document (they mean the same in Go's regexp and in ECMA-262). The length
// limits above apply besides.
const (
	// SKUPattern: letters, digits, '.', '_' and '-', starting with a
	// letter or digit. SKUs are printed on labels, typed into scanners and
	// used as path segments of the API, so nothing else is allowed.
	SKUPattern = `^[A-Za-z0-9][A-Za-z0-9._-]*$`
	// CountryPattern: an ISO 3166-1 alpha-2 code, uppercase.
	CountryPattern = `^[A-Z]{2}$`
	// SlugPattern: lowercase letters and digits separated by single dashes.
	SlugPattern = `^[a-z0-9]+(-[a-z0-9]+)*$`
	// CouponPattern: letters, digits, '_' and '-'.
	CouponPattern = `^[A-Za-z0-9_-]+$`
	// CodePattern: a shipping method code, lowercase letters and digits
	// separated by single '-' or '_'.
	CodePattern = `^[a-z0-9]+([_-][a-z0-9]+)*$`
	// PostalCodePattern: letters and digits, with single spaces or dashes
	// between them (SW1A 1AA, 10115, 01310-100).
	PostalCodePattern = `^[A-Za-z0-9]+([ -][A-Za-z0-9]+)*$`
)

var (
	skuRE        = regexp.MustCompile(SKUPattern)
	slugRE       = regexp.MustCompile(SlugPattern)
	couponRE     = regexp.MustCompile(CouponPattern)
	codeRE       = regexp.MustCompile(CodePattern)
	postalCodeRE = regexp.MustCompile(PostalCodePattern)
)

// The messages every service gives for the rules all text shares.
const (
	MsgUTF8    = "must be valid UTF-8"
	MsgControl = "must not contain control characters or bidirectional text overrides"
)

// Error is what is wrong with a value, written for the API's users.
type Error struct {
	Message string
}

func (e *Error) Error() string { return e.Message }

func fail(format string, args ...any) error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// Refused reports whether r may appear in no text value: a C0 or C1
// control character or DEL, other than the line feed, carriage return and
// tab of multi-line text, or a bidirectional embedding, override or
// isolate (U+202A–U+202E, U+2066–U+2069). The line and paragraph
// separators U+2028 and U+2029 are line breaks and refused in single-line
// text only.
func Refused(r rune, multiline bool) bool {
	switch {
	case r == '\n' || r == '\r' || r == '\t' || r == '\u2028' || r == '\u2029':
		return !multiline
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Chars checks what every text value shares: valid UTF-8, and no character
// Refused for it.
func Chars(s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return &Error{Message: MsgUTF8}
	}
	for _, r := range s {
		if Refused(r, multiline) {
			return &Error{Message: MsgControl}
		}
	}
	return nil
}

// Line checks single-line free text of at most max characters; with
// required, it must not be blank either.
func Line(s string, max int, required bool) error {
	if err := Chars(s, false); err != nil {
		return err
	}
	if required && strings.TrimSpace(s) == "" {
		return fail("must not be blank")
	}
	if utf8.RuneCountInString(s) > max {
		return fail("must have at most %d characters", max)
	}
	return nil
}

// Lines checks multi-line free text (a description, a note) of at most max
// characters.
func Lines(s string, max int, required bool) error {
	if err := Chars(s, true); err != nil {
		return err
	}
	if required && strings.TrimSpace(s) == "" {
		return fail("must not be blank")
	}
	if utf8.RuneCountInString(s) > max {
		return fail("must have at most %d characters", max)
	}
	return nil
}

// Name checks a required name of a person, a store or a category.
func Name(s string) error { return Line(s, MaxName, true) }

// Title checks a product's title.
func Title(s string) error { return Line(s, MaxTitle, true) }

// SKU checks a stock keeping unit: 1 to MaxSKU characters of SKUPattern.
func SKU(s string) error {
	if s == "" || len(s) > MaxSKU || !skuRE.MatchString(s) {
		return fail("must be 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit", MaxSKU)
	}
	return nil
}

// NormalEmail is an email address as services keep and compare it:
// trimmed and lowercased.
func NormalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Email checks a plain email address (name@example.com: no display name,
// no comments, a dotted domain) of at most MaxEmail bytes. Case is not
// judged; surrounding spaces are refused (trim with NormalEmail first).
func Email(s string) error {
	bad := fail("must be a plain email address like name@example.com, at most %d bytes", MaxEmail)
	if s == "" || len(s) > MaxEmail {
		return bad
	}
	if err := Chars(s, false); err != nil {
		return err
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return bad
	}
	local, domain, _ := strings.Cut(s, "@")
	if len(local) > 64 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.ContainsAny(s, " \u00a0") {
		return bad
	}
	return nil
}

// AddressLine checks a street line of an address.
func AddressLine(s string, required bool) error { return Line(s, MaxAddressLine, required) }

// City checks the city of an address.
func City(s string) error { return Line(s, MaxCity, true) }

// Region checks the optional state, province or county of an address.
func Region(s string) error { return Line(s, MaxRegion, false) }

// PostalCode checks a postal code; an empty one passes unless required
// (some countries have none).
func PostalCode(s string, required bool) error {
	if s == "" && !required {
		return nil
	}
	if len(s) > MaxPostalCode || !postalCodeRE.MatchString(s) {
		return fail("must be 1 to %d letters and digits, with single spaces or dashes between them", MaxPostalCode)
	}
	return nil
}

// Country checks an ISO 3166-1 alpha-2 country code: uppercase, assigned
// to a country (not a macro-region, a private-use or a withdrawn code).
func Country(s string) error {
	bad := fail("must be an ISO 3166-1 alpha-2 country code like DE, uppercase")
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return bad
	}
	r, err := language.ParseRegion(s)
	if err != nil || !r.IsCountry() || r.IsPrivateUse() || r.Canonicalize().String() != s {
		return bad
	}
	return nil
}

// Slug checks a URL name: 1 to MaxSlug characters of SlugPattern.
func Slug(s string) error {
	if s == "" || len(s) > MaxSlug || !slugRE.MatchString(s) {
		return fail("must be 1 to %d lowercase letters and digits separated by single dashes", MaxSlug)
	}
	return nil
}

// Coupon checks a coupon code: 1 to MaxCoupon characters of CouponPattern.
// Codes are compared case-insensitively.
func Coupon(s string) error {
	if s == "" || len(s) > MaxCoupon || !couponRE.MatchString(s) {
		return fail("must be 1 to %d letters, digits, '_' or '-'", MaxCoupon)
	}
	return nil
}

// Code checks a shipping method code: 1 to MaxCode characters of
// CodePattern.
func Code(s string) error {
	if s == "" || len(s) > MaxCode || !codeRE.MatchString(s) {
		return fail("must be 1 to %d lowercase letters and digits separated by single '-' or '_'", MaxCode)
	}
	return nil
}
