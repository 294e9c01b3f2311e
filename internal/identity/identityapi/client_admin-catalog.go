package identityapi

import (
	"context"
	"net/http"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// StaffLoginFor signs a staff member in for the browser at clientIP
// (POST /api/v1/staff/auth/login with ClientIPHeader), as StaffLogin
// does. It is for the deployment's admin pages: the client must send the
// service token (the platform's HTTPClient), without which identity
// ignores clientIP. A wrong email or password, or a deactivated member, is
// ErrInvalidCredentials; too many failed attempts of the account or of
// clientIP a 429 too_many_attempts.
func (c *Client) StaffLoginFor(ctx context.Context, l Login, clientIP string) (StaffSession, error) {
	var out StaffSession
	call := apiclient.Call{Method: http.MethodPost, Path: "/api/v1/staff/auth/login", Body: l, Out: &out}
	if clientIP != "" {
		call.Header = http.Header{ClientIPHeader: {clientIP}}
	}
	if err := c.c.Do(ctx, call); err != nil {
		return StaffSession{}, mapError(err)
	}
	return out, nil
}
