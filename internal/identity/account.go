package identity

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mercato/mercato/internal/identity/identityapi"
)

// FieldError is one invalid input field.
type FieldError struct {
	// Field is the JSON name of the field, e.g. "name".
	Field   string
	Message string
	Value   any
}

// ValidationError is bad input: Err says which kind (ErrInvalid,
// ErrInvalidEmail, ErrWeakPassword...), Fields which fields.
type ValidationError struct {
	Err    error
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", f.Field, f.Message)
	}
	return b.String()
}

func (e *ValidationError) Unwrap() error { return e.Err }

func invalid(fields ...FieldError) error { return &ValidationError{Err: ErrInvalid, Fields: fields} }

// normalizeEmail checks an email address and returns it lowercased. Only a
// bare address is accepted (no display name, no comments), at most 254
// bytes, with a dotted domain.
func normalizeEmail(field, s string) (string, error) {
	bad := func(msg string) error {
		return &ValidationError{Err: ErrInvalidEmail, Fields: []FieldError{{Field: field, Message: msg, Value: s}}}
	}
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" || len(e) > identityapi.MaxEmailLength || !utf8.ValidString(e) {
		return "", bad("must be an email address of at most 254 bytes")
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", bad("must be a plain email address like name@example.com")
	}
	local, domain, _ := strings.Cut(e, "@")
	if len(local) > 64 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.ContainsFunc(e, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "", bad("must be a plain email address like name@example.com")
	}
	return e, nil
}

// loginEmail normalises the email of a login attempt without judging it:
// a malformed email is just an unknown account.
func loginEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// checkText checks a free-text field: valid UTF-8, no control characters,
// at most max characters, and (when required) not blank. The text is
// stored as given: markup or SQL in a name is just text, escaped by
// whoever renders it.
func checkText(field, s string, max int, required bool) *FieldError {
	switch {
	case !utf8.ValidString(s):
		return &FieldError{Field: field, Message: "must be valid UTF-8"}
	case required && strings.TrimSpace(s) == "":
		return &FieldError{Field: field, Message: "must not be blank", Value: s}
	case utf8.RuneCountInString(s) > max:
		return &FieldError{Field: field, Message: fmt.Sprintf("must be at most %d characters", max), Value: s}
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }):
		return &FieldError{Field: field, Message: "must not contain control characters", Value: s}
	}
	return nil
}

// texts checks several fields and returns one ValidationError for all the
// bad ones, or nil.
func texts(checks ...*FieldError) error {
	var fields []FieldError
	for _, c := range checks {
		if c != nil {
			fields = append(fields, *c)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return invalid(fields...)
}

// checkNewPassword applies the password policy and names the field.
func (s *Service) checkNewPassword(field, pw, email string) error {
	if err := s.common.checkPassword(pw, email); err != nil {
		var we *WeakPasswordError
		errors.As(err, &we)
		return &ValidationError{Err: err, Fields: []FieldError{{Field: field, Message: we.Error(), Value: we.Reason}}}
	}
	return nil
}

// checkPhone checks a phone number: digits, spaces and + - ( ) . only.
func checkPhone(field, s string) *FieldError {
	if s == "" {
		return nil
	}
	if utf8.RuneCountInString(s) > 32 || strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9') && !strings.ContainsRune(" +-().", r)
	}) {
		return &FieldError{Field: field, Message: "must be a phone number (digits, spaces and + - ( ) . only, at most 32)", Value: s}
	}
	return nil
}
