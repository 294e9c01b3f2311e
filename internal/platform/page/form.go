package page

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Form is a submitted form: the values as typed, so a refused form is
// shown again with nothing lost, and the message of each field at fault.
type Form struct {
	Values url.Values
	// Errors maps a field's name to what is wrong with it.
	Errors map[string]string
	// Message is the form's error as a whole (empty: none).
	Message string
}

// ParseForm reads r's form (at most 1 MiB of it).
func ParseForm(w http.ResponseWriter, r *http.Request) *Form {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	_ = r.ParseForm() // a form that cannot be read is empty: its fields are reported missing
	return &Form{Values: r.PostForm, Errors: map[string]string{}}
}

// EmptyForm is a form with nothing typed yet, prefilled with values.
func EmptyForm(values url.Values) *Form {
	if values == nil {
		values = url.Values{}
	}
	return &Form{Values: values, Errors: map[string]string{}}
}

// Get returns the field's value, trimmed.
func (f *Form) Get(name string) string {
	if f == nil {
		return ""
	}
	return strings.TrimSpace(f.Values.Get(name))
}

// Has reports whether the field was sent (a checkbox that is ticked).
func (f *Form) Has(name string) bool { return f != nil && f.Values.Has(name) }

// Error returns the message of the field, or "".
func (f *Form) Error(name string) string {
	if f == nil {
		return ""
	}
	return f.Errors[name]
}

// Fail marks the field with msg.
func (f *Form) Fail(name, msg string) {
	if _, ok := f.Errors[name]; !ok {
		f.Errors[name] = msg
	}
}

// Invalid reports whether any field or the form is marked.
func (f *Form) Invalid() bool { return f != nil && (len(f.Errors) > 0 || f.Message != "") }

// Key returns the form's Idempotency-Key (its hidden idempotency_key
// field) when it is a well-formed one, else a new key.
func (f *Form) Key() string {
	k := f.Get("idempotency_key")
	if len(k) < 8 || len(k) > 100 || strings.IndexFunc(k, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')
	}) >= 0 {
		return NewKey()
	}
	return k
}

// Refused records an API's refusal of the form (a 4xx problem): its
// detail as the form's message and each of its field errors on the form
// field it names. fields maps an API location, without its "body." prefix
// ("variants[0].sku"), to the form field; a location not in fields is
// used as the field name itself. It reports false, recording nothing,
// for any other error (an outage), which the caller answers with Fail.
func (f *Form) Refused(err error, fields map[string]string) bool {
	ae, ok := apiclient.Refused(err)
	if !ok {
		var e *apiclient.Error
		if !errors.As(err, &e) || e.Status != http.StatusConflict {
			return false
		}
		ae = e // a lost race is worth telling the person, too
	}
	if ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden || ae.Status == http.StatusNotFound && len(ae.Errors) == 0 {
		return false
	}
	f.Message = ae.Detail
	for _, fe := range ae.Errors {
		loc := strings.TrimPrefix(strings.TrimPrefix(fe.Location, "body."), "query.")
		name, ok := fields[loc]
		if !ok {
			name = loc
		}
		f.Fail(name, fe.Message)
	}
	return true
}

// MinorUnits reads a decimal amount typed in a form ("12.5", "12,50",
// "1200") as minor units of a currency of the given scale (2 for EUR).
// It refuses more decimals than the currency has, signs and anything not
// a number.
func MinorUnits(s string, scale int) (int64, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", "."))
	if s == "" {
		return 0, errors.New("enter an amount")
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if len(frac) > scale {
		return 0, fmt.Errorf("use at most %d decimals", scale)
	}
	for _, part := range []string{whole, frac} {
		if strings.IndexFunc(part, func(c rune) bool { return c < '0' || c > '9' }) >= 0 {
			return 0, errors.New("enter a number, like 12.50")
		}
	}
	frac += strings.Repeat("0", scale-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || len(whole) > 13 {
		return 0, errors.New("the amount is too large")
	}
	return n, nil
}

// FormatDecimal writes minor units as a plain decimal of the given scale
// ("12.50"), the form MinorUnits reads.
func FormatDecimal(minor int64, scale int) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	s := strconv.FormatInt(minor, 10)
	if scale == 0 {
		return sign + s
	}
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	return sign + s[:len(s)-scale] + "." + s[len(s)-scale:]
}

// Status is the HTTP status a failed call should answer the page with:
// the API's own 4xx, 503 when a service is away or answered 5xx, and 500
// for anything else.
func Status(err error) int {
	var e *apiclient.Error
	switch {
	case errors.Is(err, ErrSignedOut):
		return http.StatusUnauthorized
	case errors.As(err, &e) && e.Status >= 400 && e.Status < 500:
		return e.Status
	case errors.As(err, &e), errors.Is(err, apiclient.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
