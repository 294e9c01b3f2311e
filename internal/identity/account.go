package identity

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mercato/mercato/internal/platform/text"
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

// normalizeEmail checks an email address by the platform's one rule
// (text.Email) and returns it trimmed and lowercased.
func normalizeEmail(field, s string) (string, error) {
	e := text.NormalEmail(s)
	if err := text.Email(e); err != nil {
		return "", &ValidationError{Err: ErrInvalidEmail, Fields: []FieldError{{Field: field, Message: err.Error(), Value: s}}}
	}
	return e, nil
}

// loginEmail normalises the email of a login attempt without judging it:
// a malformed email is just an unknown account.
func loginEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// checkText checks a single-line free-text field by the platform's rule
// (text.Line): valid UTF-8, no control characters or bidi overrides, at
// most max characters, and (when required) not blank. The text is stored
// as given: markup or SQL in a name is just text, escaped by whoever
// renders it.
func checkText(field, s string, max int, required bool) *FieldError {
	if err := text.Line(s, max, required); err != nil {
		return &FieldError{Field: field, Message: err.Error(), Value: s}
	}
	return nil
}

// checkWith reports what check finds wrong with s as field's error.
func checkWith(field, s string, check func(string) error) *FieldError {
	if err := check(s); err != nil {
		return &FieldError{Field: field, Message: err.Error(), Value: s}
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
		return &ValidationError{Err: err, Fields: []FieldError{{Field: field, Message: we.Message(), Value: we.Reason}}}
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
