package identityapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Client calls the identity service's API: the admin operations other
// services call with the admin token the platform's client adds, and the
// customer's (customerclient.go) and staff's (staffclient.go) operations
// the web UI calls with the signed-in person's token. It is safe for
// concurrent use.
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the identity API at baseURL (scheme and
// host, e.g. "http://identity:8080"). A nil hc means apiclient's default.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New(Source, strings.TrimSuffix(baseURL, "/"), hc)}
}

// CreateOwner creates the first owner of the store in ctx and returns the
// owner's account and tokens. It fails with ErrOwnerExists (409) when the
// store already has an owner, ErrEmailTaken when the email belongs to
// another staff account, ErrWeakPassword or a 422 *apiclient.Error for bad
// input. It is not retried: a repeat after a lost answer gets
// ErrOwnerExists, which the caller can treat as done.
func (c *Client) CreateOwner(ctx context.Context, o OwnerCreate) (OwnerTokens, error) {
	var out OwnerTokens
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/identity/owners", Body: o, Out: &out})
	if err != nil {
		return OwnerTokens{}, mapError(err)
	}
	return out, nil
}

// OwnerExists reports whether the store in ctx has an owner (active or not).
func (c *Client) OwnerExists(ctx context.Context) (bool, error) {
	var out OwnerExists
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/identity/owner-exists", Out: &out})
	if err != nil {
		return false, mapError(err)
	}
	return out.Exists, nil
}

// Customer returns the customer account with id in the store in ctx, or
// ErrNotFound.
func (c *Client) Customer(ctx context.Context, id string) (Customer, error) {
	var out Customer
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: "/api/v1/admin/customers/" + url.PathEscape(id), Out: &out})
	if err != nil {
		return Customer{}, mapError(err)
	}
	return out, nil
}

// mappedError keeps the *apiclient.Error in the chain and makes the
// contract's sentinel match too.
type mappedError struct {
	sentinel error
	err      error
}

func (e *mappedError) Error() string   { return fmt.Sprintf("%v: %v", e.sentinel, e.err) }
func (e *mappedError) Unwrap() []error { return []error{e.sentinel, e.err} }

// mapError makes the contract's sentinels match problem answers.
func mapError(err error) error {
	var ae *apiclient.Error
	if !errors.As(err, &ae) {
		return err
	}
	var s error
	switch {
	case ae.Status == http.StatusNotFound:
		s = ErrNotFound
	case ae.Code == "owner_exists":
		s = ErrOwnerExists
	case ae.Code == "email_taken":
		s = ErrEmailTaken
	case ae.Code == "weak_password":
		s = ErrWeakPassword
	case ae.Code == "invalid_credentials":
		s = ErrInvalidCredentials
	case ae.Code == "invalid_reset_token", ae.Code == "invalid_verification_token":
		s = ErrInvalidToken
	case ae.Code == "invalid_refresh_token", ae.Code == "refresh_token_reused":
		s = ErrInvalidRefreshToken
	default:
		return err
	}
	return &mappedError{sentinel: s, err: err}
}

// ImportCustomer creates or updates a customer account by email (POST
// /api/v1/admin/customers/import); the same body twice changes nothing the
// second time, so the call is retried.
func (c *Client) ImportCustomer(ctx context.Context, in CustomerImport) (CustomerImported, error) {
	var out CustomerImported
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/customers/import", Body: in, Out: &out, Idempotent: true})
	return out, mapError(err)
}

// ListCustomers returns a page of the store's customers, oldest first
// (GET /api/v1/admin/customers), masked unless the caller may see them.
func (c *Client) ListCustomers(ctx context.Context, cursor string, limit int) (CustomerList, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/v1/admin/customers"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out CustomerList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Out: &out})
	return out, mapError(err)
}

// RecordExport adds a CSV export to the store's audit log (POST
// /api/v1/admin/exports); the caller's credentials say who ran it.
func (c *Client) RecordExport(ctx context.Context, r ExportRecord) (ExportAudit, error) {
	var out ExportAudit
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/exports", Body: r, Out: &out})
	return out, mapError(err)
}

// FinishExport sets the row count of an export recorded in progress (POST
// /api/v1/admin/exports/{id}/finish), by the caller that recorded it;
// ErrNotFound for another's, an unknown or a finished entry.
func (c *Client) FinishExport(ctx context.Context, id string, rows int64) (ExportAudit, error) {
	var out ExportAudit
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: "/api/v1/admin/exports/" + url.PathEscape(id) + "/finish",
		Body: ExportFinish{Rows: rows}, Out: &out})
	return out, mapError(err)
}

// Exports returns a page of the export audit log, newest first (GET
// /api/v1/admin/exports).
func (c *Client) Exports(ctx context.Context, cursor string) (ExportAuditList, error) {
	path := "/api/v1/admin/exports"
	if cursor != "" {
		path += "?cursor=" + url.QueryEscape(cursor)
	}
	var out ExportAuditList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: path, Out: &out})
	return out, mapError(err)
}
