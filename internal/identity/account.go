package identity

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/text"
)

// normalizeEmail checks an email address by the platform's one rule
// (text.Email) and returns it trimmed and lowercased.
func normalizeEmail(field, s string) (string, error) {
	e := text.NormalEmail(s)
	if err := text.Email(e); err != nil {
		return "", &kit.ValidationError{Err: ErrInvalidEmail, Fields: []kit.FieldError{{Field: field, Message: err.Error(), Value: s}}}
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
func checkText(field, s string, max int, required bool) *kit.FieldError {
	if err := text.Line(s, max, required); err != nil {
		return &kit.FieldError{Field: field, Message: err.Error(), Value: s}
	}
	return nil
}

// checkWith reports what check finds wrong with s as field's error.
func checkWith(field, s string, check func(string) error) *kit.FieldError {
	if err := check(s); err != nil {
		return &kit.FieldError{Field: field, Message: err.Error(), Value: s}
	}
	return nil
}

// texts checks several fields and returns one *kit.ValidationError
// (matching ErrInvalid) for all the bad ones, or nil.
func texts(checks ...*kit.FieldError) error {
	var fields []kit.FieldError
	for _, c := range checks {
		if c != nil {
			fields = append(fields, *c)
		}
	}
	return kit.Invalid(ErrInvalid, fields...)
}

// emailTaken is ErrEmailTaken refusing the request's email field, which
// the answer names.
func emailTaken() error {
	return &kit.ValidationError{Err: ErrEmailTaken, Fields: []kit.FieldError{{Field: "email", Message: "already registered"}}}
}

// badToken is err (ErrInvalidResetToken, ErrInvalidInvitation) refusing
// the request's token field, which the answer names.
func badToken(err error) error {
	return &kit.ValidationError{Err: err, Fields: []kit.FieldError{{Field: "token", Message: "invalid or expired"}}}
}

// checkNewPassword applies the password policy and names the field.
func (s *Service) checkNewPassword(field, pw, email string) error {
	if err := s.common.checkPassword(pw, email); err != nil {
		var we *WeakPasswordError
		errors.As(err, &we)
		return &kit.ValidationError{Err: err, Fields: []kit.FieldError{{Field: field, Message: we.Message(), Value: we.Reason}}}
	}
	return nil
}

// checkPhone checks a phone number: digits, spaces and + - ( ) . only.
func checkPhone(field, s string) *kit.FieldError {
	if s == "" {
		return nil
	}
	if utf8.RuneCountInString(s) > 32 || strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9') && !strings.ContainsRune(" +-().", r)
	}) {
		return &kit.FieldError{Field: field, Message: "must be a phone number (digits, spaces and + - ( ) . only, at most 32)", Value: s}
	}
	return nil
}
