package identityapi

import (
	"context"
	"net/http"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// ClientIPHeader carries, on a sign-in a page service makes for a browser,
// the browser's address: the login throttle counts the attempts of that
// address rather than the page service's, which every visitor shares.
// Identity believes it only from a caller presenting the deployment's
// service token, and ignores it from anyone else.
const ClientIPHeader = "X-Mercato-Client-Ip"

// LoginFor signs a customer in for the browser at clientIP
// (POST /api/v1/auth/login with ClientIPHeader), as Login does. It is for
// the deployment's page services: the client must send the service token
// (the platform's HTTPClient), without which identity ignores clientIP and
// counts the attempt against the caller's own address. A wrong email or
// password is ErrInvalidCredentials; too many failed attempts of the
// account or of clientIP a 429 too_many_attempts.
func (c *Client) LoginFor(ctx context.Context, l Login, clientIP string) (Tokens, error) {
	var out Tokens
	call := apiclient.Call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: l, Out: &out}
	if clientIP != "" {
		call.Header = http.Header{ClientIPHeader: {clientIP}}
	}
	if err := c.c.Do(ctx, call); err != nil {
		return Tokens{}, mapError(err)
	}
	return out, nil
}
