package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/sqldb"
)

// CodeConflict is the code of a 409 that says a concurrent change won: the
// request was sound and may be sent again. Callers tell it from the 409s
// that refuse the request itself by this code.
const CodeConflict = "conflict"

// Problem is Mercato's error body: RFC 9457 problem details plus a stable,
// snake_case Code that clients can switch on.
type Problem struct {
	huma.ErrorModel
	Code string `json:"code" doc:"Stable machine-readable error code." example:"not_found"`
}

// Error builds a problem error with status, code and a human detail, and
// optionally the request fields at fault. What a problem repeats of the
// request is bounded (see bound): never a secret, never more than a few
// short values, so an answer stays small whatever the request was.
func Error(status int, code, detail string, fields ...*huma.ErrorDetail) huma.StatusError {
	detail, fields = bound(detail, fields)
	return &Problem{
		ErrorModel: huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: detail, Errors: fields},
		Code:       code,
	}
}

// Field names one invalid request field for a 422 problem.
func Field(location, message string, value any) *huma.ErrorDetail {
	return &huma.ErrorDetail{Location: location, Message: message, Value: value}
}

// codeFor gives the errors huma raises itself (parsing, validation, limits)
// a stable code.
func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "malformed_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusNotAcceptable:
		return "not_acceptable"
	case http.StatusRequestTimeout:
		return "request_timeout"
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusUnprocessableEntity:
		return "validation_failed"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}

var installErrors sync.Once

// installProblemErrors makes huma build every error as a Problem. huma
// exposes this hook only as a package variable, so it is set once, to a
// function that depends on nothing else.
func installProblemErrors() {
	installErrors.Do(func() {
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			details := make([]*huma.ErrorDetail, 0, len(errs))
			for _, err := range errs {
				switch e := err.(type) {
				case nil:
				case huma.ErrorDetailer:
					details = append(details, humanize(e.ErrorDetail()))
				default:
					details = append(details, &huma.ErrorDetail{Message: e.Error()})
				}
			}
			if status >= 500 {
				// Never leak internal text into a 5xx.
				msg, details = "internal error; see the server log with this request's ID", nil
			}
			return Error(status, codeFor(status), msg, details...)
		}
		huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			if status >= 500 && ctx != nil {
				// Keep the real cause for the access log of this request.
				if ri := infoFrom(ctx.Context()); ri != nil {
					ri.setErr(errors.Join(errs...))
				}
			}
			if cause := errors.Join(errs...); status == http.StatusInternalServerError && errors.Is(cause, sqldb.ErrUnavailable) {
				// The database is restarting or out of reach, in any
				// service: nothing is wrong with the request.
				if ctx != nil {
					ctx.SetHeader("Retry-After", "1")
				}
				detail := "the database is not answering; retry shortly"
				if errors.Is(cause, sqldb.ErrCommitUnknown) {
					detail = "the database connection was lost while saving; retry shortly (with the same Idempotency-Key) to learn whether it was saved"
				}
				return Error(http.StatusServiceUnavailable, "unavailable", detail)
			}
			return huma.NewError(status, msg, errs...)
		}
	})
}

// WriteProblem writes a problem response from plain net/http code (middleware
// that runs before huma).
func WriteProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Error(status, code, detail))
}
