package kit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/web"
)

// FieldError says what is wrong with one field of a request.
type FieldError struct {
	// Field is the field's path in the request body ("items[2].sku"), or
	// its location elsewhere with the location's prefix ("query.cursor",
	// "path.id", "header.If-Match").
	Field   string
	Message string
	// Value is the value refused, shown back to the caller; nil for none.
	Value any
}

// ValidationError is a request refused for the fields it lists. It matches
// Err (errors.Is), or ErrInvalid when Err is nil; Problems answers it with
// 422 validation_failed unless its table maps Err or the error names its
// own Code.
type ValidationError struct {
	// Err is the sentinel the refusal matches (a service's ErrInvalid,
	// ErrSKUTaken…); nil means ErrInvalid.
	Err error
	// Code and Detail, when set, are the problem's code and detail.
	Code, Detail string
	Fields       []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Unwrap().Error())
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	return b.String()
}

func (e *ValidationError) Unwrap() error {
	if e.Err == nil {
		return ErrInvalid
	}
	return e.Err
}

// Invalid returns a *ValidationError matching err for fields, or nil when
// there are none: collect the fields a request gets wrong, then return
// Invalid(ErrInvalid, fields...).
func Invalid(err error, fields ...FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return &ValidationError{Err: err, Fields: fields}
}

// UpstreamError is another service's refusal of a request (a 4xx about the
// request itself, see apiclient.Refused) that this service passes on to
// its caller as it came: same status, code, detail and fields.
type UpstreamError struct{ Err *apiclient.Error }

func (e *UpstreamError) Error() string { return "refused upstream: " + e.Err.Error() }
func (e *UpstreamError) Unwrap() error { return e.Err }

// Upstream returns err as an *UpstreamError when it is another service's
// refusal of the request (apiclient.Refused), and err unchanged otherwise
// (the other service down, slow or failing is not the caller's fault).
func Upstream(err error) error {
	if ae, ok := apiclient.Refused(err); ok {
		return &UpstreamError{Err: ae}
	}
	return err
}

// Problem is one line of a service's error table: errors matching Err
// (errors.Is) are answered with Status, Code and Detail.
type Problem struct {
	Err    error
	Status int
	Code   string
	Detail string
	// Field, when set, is the location the answer names as at fault
	// ("query.cursor"), with Err's own words as the message.
	Field string
}

// Problems is a service's error table, the one place its errors become
// HTTP answers. Map consults it after the kinds every service shares.
type Problems []Problem

// Map returns the problem answer for err:
//   - a *ValidationError: its fields, with the table's status, code and
//     detail for its Err, else its own Code and Detail, else 422
//     validation_failed;
//   - an *UpstreamError: the other service's answer, passed on;
//   - an error matching a line of the table: that line;
//   - ErrInvalidCursor: 422 invalid_cursor;
//   - context.Canceled: 499 (the client went away; nobody reads it).
//
// Anything else is returned as it is: the web platform answers it with a
// bare 500 (no internal text) and logs the cause once, at the edge.
func (ps Problems) Map(err error) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		status, code, detail := http.StatusUnprocessableEntity, "validation_failed", web.DetailInvalid
		if p, ok := ps.find(ve.Err); ok {
			status, code, detail = p.Status, p.Code, p.Detail
		}
		if ve.Code != "" {
			code = ve.Code
		}
		if ve.Detail != "" {
			detail = ve.Detail
		}
		fields := make([]*huma.ErrorDetail, len(ve.Fields))
		for i, f := range ve.Fields {
			fields[i] = web.Field(Location(f.Field), f.Message, f.Value)
		}
		return web.Error(status, code, detail, fields...)
	}
	var ue *UpstreamError
	if errors.As(err, &ue) {
		fields := make([]*huma.ErrorDetail, len(ue.Err.Errors))
		for i, f := range ue.Err.Errors {
			fields[i] = web.Field(f.Location, f.Message, f.Value)
		}
		return web.Error(ue.Err.Status, ue.Err.Code, ue.Err.Detail, fields...)
	}
	if p, ok := ps.find(err); ok {
		var fields []*huma.ErrorDetail
		if p.Field != "" {
			fields = append(fields, web.Field(p.Field, web.Plain(p.Err), nil))
		}
		return web.Error(p.Status, p.Code, p.Detail, fields...)
	}
	switch {
	case errors.Is(err, ErrInvalidCursor):
		return web.Error(http.StatusUnprocessableEntity, "invalid_cursor", "the cursor is not one this list returned",
			web.Field("query.cursor", "invalid cursor", nil))
	case errors.Is(err, context.Canceled):
		return web.Error(499, "client_closed_request", "request canceled")
	}
	return err
}

func (ps Problems) find(err error) (Problem, bool) {
	if err == nil {
		return Problem{}, false
	}
	for _, p := range ps {
		if errors.Is(err, p.Err) {
			return p, true
		}
	}
	return Problem{}, false
}

// Location is where field is in the request: field itself when it names
// its location ("query.cursor"), else the body's "body.<field>".
func Location(field string) string {
	for _, prefix := range []string{"body.", "query.", "path.", "header.", "cookie."} {
		if strings.HasPrefix(field, prefix) {
			return field
		}
	}
	return "body." + field
}
