// Package apiclient is the one way a service calls another service's HTTP
// API: JSON in and out, the tenant of the context carried in the
// X-Mercato-Tenant header, problem answers turned into *Error, retries of
// requests that are safe to repeat, and a circuit breaker per client so a
// service that is down fails callers fast instead of tying them up.
//
// Each <service>api package wraps a Client in typed methods; this package
// knows nothing of any service. A typed error or sentinel a <service>api
// client makes of an answer keeps the *Error in its chain (Unwrap), so
// callers class failures by status and code (IsStatus, IsCode) through
// any client; classes_test.go walks every client to hold them to it.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/sony/gobreaker/v2"

	"github.com/mercato/mercato/internal/platform/tenancy"
)

// DefaultTimeout bounds one attempt of a call when the http.Client has none.
const DefaultTimeout = 10 * time.Second

// ErrUnavailable is returned (wrapped) while a client's breaker is open: the
// service failed repeatedly and is given a moment before the next try.
var ErrUnavailable = errors.New("apiclient: service unavailable")

// Error is a problem answer (application/problem+json) from a service.
type Error struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	// Errors are the request fields at fault, as the service named them.
	Errors []FieldError `json:"errors,omitempty"`
	// Service is the service that answered.
	Service string `json:"-"`
}

// FieldError is one entry of a problem's errors list.
type FieldError struct {
	Location string `json:"location,omitempty"`
	Message  string `json:"message,omitempty"`
	Value    any    `json:"value,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s api: %d %s: %s", e.Service, e.Status, e.Code, e.Detail)
}

// IsCode reports whether err is (or wraps) an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// IsStatus reports whether err is (or wraps) an *Error with the given status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// CodeConflict is the problem code of a 409 that lost a race with a
// concurrent change (web.CodeConflict): trying again may succeed.
const CodeConflict = "conflict"

// Refused returns the *Error in err when it is another service's refusal
// of the request itself: a 4xx about the request, which the caller must
// change before asking again. A 4xx about load or a lost race (408, 429,
// or 409 conflict) is not one: after it the outcome is unknown and the
// same call may be tried again, like a 5xx or a failed connection.
func Refused(err error) (*Error, bool) {
	var ae *Error
	if !errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500 {
		return nil, false
	}
	switch {
	case ae.Status == http.StatusRequestTimeout, ae.Status == http.StatusTooManyRequests,
		ae.Status == http.StatusConflict && ae.Code == CodeConflict:
		return nil, false
	}
	return ae, true
}

// tokenKey carries a caller's bearer token in a context.
type tokenKey struct{}

// WithToken returns ctx carrying token: a call made with it sends
// Authorization: Bearer token, in place of whatever credentials the
// client's transport would add. The web UI calls every API with the
// signed-in person's token this way, so the API refuses what that person
// may not do.
func WithToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, tokenKey{}, token)
}

// Token returns the bearer token ctx carries (WithToken), or "".
func Token(ctx context.Context) string {
	t, _ := ctx.Value(tokenKey{}).(string)
	return t
}

// Client calls one service's API. It is safe for concurrent use.
type Client struct {
	service string
	base    string
	http    *http.Client
	breaker *gobreaker.CircuitBreaker[struct{}]
	// MaxElapsed bounds the retries of one call (default 3 s).
	maxElapsed time.Duration
}

// New returns a client for service's API at base (scheme and host, e.g.
// "http://inventory:8080", no trailing slash). A nil hc means a client with
// DefaultTimeout.
func New(service, base string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	c := &Client{service: service, base: base, http: hc, maxElapsed: 3 * time.Second}
	c.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:    service,
		Timeout: 5 * time.Second, // open → half-open
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= 10
		},
		// Only failures of the service itself count: a 4xx answer is the
		// service working as it should.
		IsSuccessful: func(err error) bool {
			// A caller that gave up says nothing about the service.
			return err == nil || !unhealthy(err) || errors.Is(err, context.Canceled)
		},
	})
	return c
}

// Service is the name of the service this client calls.
func (c *Client) Service() string { return c.service }

// Call is one request.
type Call struct {
	Method string
	// Path starts with / and includes any query string.
	Path string
	// Body is encoded as JSON when not nil.
	Body any
	// RawBody, when not nil, is sent as it is, with ContentType, in place
	// of Body (a multipart upload).
	RawBody     []byte
	ContentType string
	// Out receives the decoded JSON answer of a 2xx when not nil.
	Out any
	// RawOut, when not nil, receives the body of a 2xx as it came, in
	// place of Out: a download (a PDF).
	RawOut *[]byte
	// IdempotencyKey is sent as Idempotency-Key; a call with one is retried
	// like a GET, since the service answers a repeat with the first outcome.
	IdempotencyKey string
	// Idempotent says the operation is idempotent by its own arguments (a
	// reservation keyed by order ID, say), so it is retried like a GET
	// without the cost of the platform's Idempotency-Key layer.
	Idempotent bool
	// Header adds request headers.
	Header http.Header
}

// Do makes the call for the tenant in ctx. A failed connection or a 502,
// 503 or 504 is retried with backoff for up to 3 s when the call is safe to
// repeat (GET, HEAD, Idempotent or an idempotency key); other answers are
// returned at once, a non-2xx as *Error.
func (c *Client) Do(ctx context.Context, call Call) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return fmt.Errorf("%s api %s %s: %w", c.service, call.Method, call.Path, err)
	}
	var body []byte
	switch {
	case call.RawBody != nil:
		body = call.RawBody
	case call.Body != nil:
		if body, err = json.Marshal(call.Body); err != nil {
			return fmt.Errorf("%s api %s %s: encode: %w", c.service, call.Method, call.Path, err)
		}
	}
	safe := call.Method == http.MethodGet || call.Method == http.MethodHead || call.IdempotencyKey != "" || call.Idempotent
	op := func() (struct{}, error) {
		_, err := c.breaker.Execute(func() (struct{}, error) {
			return struct{}{}, c.once(ctx, tenant, call, body)
		})
		switch {
		case err == nil:
			return struct{}{}, nil
		case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
			return struct{}{}, backoff.Permanent(fmt.Errorf("%s api %s %s: %w", c.service, call.Method, call.Path, ErrUnavailable))
		case safe && unhealthy(err) && ctx.Err() == nil:
			return struct{}{}, err
		default:
			return struct{}{}, backoff.Permanent(err)
		}
	}
	eb := backoff.NewExponentialBackOff()
	eb.InitialInterval = 50 * time.Millisecond
	_, err = backoff.Retry(ctx, op, backoff.WithBackOff(eb), backoff.WithMaxElapsedTime(c.maxElapsed))
	return err
}

// once makes one attempt.
func (c *Client) once(ctx context.Context, tenant string, call Call, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	if c.http.Timeout == 0 {
		// An in-process client has no timeout of its own: bound each
		// attempt here.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, call.Method, c.base+call.Path, rd)
	if err != nil {
		return fmt.Errorf("%s api %s %s: %w", c.service, call.Method, call.Path, err)
	}
	for k, vs := range call.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if tok := Token(ctx); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set(tenancy.Header, tenant)
	req.Header.Set("Accept", "application/json")
	switch {
	case call.RawBody != nil:
		req.Header.Set("Content-Type", call.ContentType)
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if call.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", call.IdempotencyKey)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return &connError{fmt.Errorf("%s api %s %s: %w", c.service, call.Method, call.Path, err)}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return &connError{fmt.Errorf("%s api %s %s: read answer: %w", c.service, call.Method, call.Path, err)}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e := &Error{}
		_ = json.Unmarshal(raw, e) // a body that is no problem still yields the status
		e.Status, e.Service = res.StatusCode, c.service
		if e.Code == "" {
			e.Code = http.StatusText(res.StatusCode)
		}
		return e
	}
	if call.RawOut != nil {
		*call.RawOut = raw
		return nil
	}
	if call.Out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, call.Out); err != nil {
			return fmt.Errorf("%s api %s %s: decode answer: %w", c.service, call.Method, call.Path, err)
		}
	}
	return nil
}

// connError is a failure to reach the service or read its answer.
type connError struct{ err error }

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

// unhealthy reports whether err says the service (not the request) is at
// fault: no connection, or a 502, 503 or 504 that is not a deliberate answer
// of the service (a 504 payment_timeout is the payment service working: it
// is neither retried nor counted against the breaker).
func unhealthy(err error) bool {
	var ce *connError
	if errors.As(err, &ce) {
		return true
	}
	var e *Error
	if errors.As(err, &e) {
		switch e.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return !deliberate(e)
		}
	}
	return false
}

// deliberate reports whether a problem's code is a service's own, not one
// the platform or a proxy in between gives any failure.
func deliberate(e *Error) bool {
	switch e.Code {
	case "", http.StatusText(e.Status), "unavailable", "internal", "tenant_directory_unavailable", "request_timeout":
		return false
	}
	return true
}
