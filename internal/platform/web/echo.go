package web

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// What a problem may repeat of the request. A problem names the fields at
// fault and, to help a client, the value it refused; but a value can be a
// password, and a request can be a megabyte of anything. So every problem
// is cut to these bounds when it is built (Error), whoever builds it: the
// platform, huma's validation or a service's own Field.
const (
	// maxDetails is how many fields at fault a problem lists; the detail
	// says how many there were in all.
	maxDetails = 20
	// maxEchoedValue bounds a refused value as JSON text (a control
	// character costs six bytes, \u0001); longer ones are cut with "…".
	maxEchoedValue = 96
	// maxMessage bounds the message of one field, and maxLocation its
	// location (a map key chosen by the client is part of it).
	maxMessage  = 300
	maxLocation = 160
	// maxDetail bounds the problem's own detail.
	maxDetail = 600
)

// bound cuts a problem's detail and fields to the bounds above, leaves out
// the package prefixes of Go errors (unprefixed: a safety net, the services
// write their messages for users in the first place), and drops
// the values of secret fields, of whole bodies and of anything long.
func bound(detail string, fields []*huma.ErrorDetail) (string, []*huma.ErrorDetail) {
	detail = clip(unprefixed(detail), maxDetail)
	if len(fields) == 0 {
		return detail, fields
	}
	if len(fields) > maxDetails {
		detail += fmt.Sprintf(" (the first %d of %d errors)", maxDetails, len(fields))
		fields = fields[:maxDetails]
	}
	out := make([]*huma.ErrorDetail, 0, len(fields))
	for _, f := range fields {
		if f == nil {
			continue
		}
		out = append(out, &huma.ErrorDetail{
			Location: clip(f.Location, maxLocation),
			Message:  clip(unprefixed(f.Message), maxMessage),
			Value:    echoable(f.Location, f.Value),
		})
	}
	return detail, out
}

// echoable returns what may be shown of value, refused at location:
// nothing for a secret field or a whole body (which may hold one); a string
// cut to maxEchoedValue; anything else as its JSON when that is short and
// names no secret field inside.
func echoable(location string, value any) any {
	if location == "body" || location == "" || secretField(location) {
		return nil
	}
	switch v := value.(type) {
	case nil, bool,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return v
	case string:
		return clip(v, maxEchoedValue)
	}
	if rv := reflect.ValueOf(value); rv.Kind() == reflect.String {
		return clip(rv.String(), maxEchoedValue)
	}
	b, err := json.Marshal(value)
	if err != nil || len(b) > maxEchoedValue {
		return nil
	}
	var parsed any
	if json.Unmarshal(b, &parsed) != nil || holdsSecret(parsed) {
		return nil
	}
	return json.RawMessage(b)
}

// holdsSecret reports whether a decoded JSON value has a field named like
// a secret anywhere inside.
func holdsSecret(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if secretField(k) || holdsSecret(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if holdsSecret(e) {
				return true
			}
		}
	}
	return false
}

// secretWords are the words of a field name that mark its value as a
// secret: such values are never repeated in an answer.
var secretWords = map[string]bool{
	"password": true, "passwd": true, "passphrase": true, "pwd": true, "secret": true,
	"token": true, "key": true, "apikey": true, "credential": true, "credentials": true,
	"authorization": true, "cookie": true, "otp": true, "pin": true, "cvc": true, "cvv": true,
}

// secretField reports whether the last name of location ("body.new_password",
// "header.X-Mercato-Api-Key", "body.keys[2]", "query.refreshToken") is
// a secret's: any of its words, split at punctuation and at lower-to-upper
// case changes, is one of secretWords (or its plural).
func secretField(location string) bool {
	name := location
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	var word strings.Builder
	prevLower := false
	for _, r := range name + "_" {
		split := !unicode.IsLetter(r) && !unicode.IsDigit(r)
		if split || (unicode.IsUpper(r) && prevLower) {
			w := strings.ToLower(word.String())
			if secretWords[w] || secretWords[strings.TrimSuffix(w, "s")] {
				return true
			}
			word.Reset()
		}
		if !split {
			word.WriteRune(r)
		}
		prevLower = unicode.IsLower(r)
	}
	// A whole name such as "apikey" or "sessiontoken" written in one word.
	lower := strings.ToLower(name)
	for _, w := range []string{"password", "passwd", "secret", "token", "apikey", "credential"} {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// clip cuts s so that it takes at most budget bytes as JSON text, ending it
// with "…" when it was cut. Invalid UTF-8 counts as the replacement
// character the encoder writes for it.
func clip(s string, budget int) string {
	if len(s) <= budget/6 {
		return s // even all control characters fit
	}
	total := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		total += jsonCost(r, size)
		i += size
	}
	if total <= budget {
		return s
	}
	const ellipsis = "…"
	cost := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if cost+jsonCost(r, size) > budget-len(ellipsis) {
			return strings.ToValidUTF8(s[:i], "\uFFFD") + ellipsis
		}
		cost += jsonCost(r, size)
		i += size
	}
	return s
}

// jsonCost is how many bytes rune r (size bytes in the input) takes in
// encoding/json's output, which escapes HTML characters too.
func jsonCost(r rune, size int) int {
	switch {
	case r == utf8.RuneError && size == 1:
		return 3
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
		return 6
	}
	return size
}

// humanize rewrites the messages huma gives parameters it cannot parse,
// which name Go types and layouts, into words for the API's users.
func humanize(d *huma.ErrorDetail) *huma.ErrorDetail {
	if d == nil {
		return nil
	}
	msg := d.Message
	switch {
	case msg == "invalid integer":
		msg = "must be an integer"
	case msg == "invalid float" || msg == "invalid floating value":
		msg = "must be a number"
	case msg == "invalid boolean":
		msg = "must be true or false"
	case msg == "invalid url.URL value":
		msg = "must be a URL"
	case strings.HasPrefix(msg, "invalid date/time for format "):
		msg = "must be a date and time as in RFC 3339, e.g. 2026-03-01T09:30:00Z"
		if strings.TrimPrefix(d.Message, "invalid date/time for format ") == time.DateOnly {
			msg = "must be a date, e.g. 2026-03-01"
		}
	case strings.HasPrefix(msg, "invalid value: "):
		msg = "is not a valid value"
	default:
		return d
	}
	out := *d
	out.Message = msg
	return &out
}
