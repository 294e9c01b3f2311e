package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/identity/identityapi"
)

// eventField returns a string field of the data of an outbox envelope.
func eventField(t testing.TB, data, field string) string {
	t.Helper()
	var env struct{ Data map[string]any }
	if err := json.Unmarshal([]byte(data), &env); err != nil {
		t.Fatalf("event data %q: %v", data, err)
	}
	v, _ := env.Data[field].(string)
	if v == "" {
		t.Fatalf("event data %q has no %s", data, field)
	}
	return v
}

// headerKid returns the kid of a JWT's header.
func headerKid(t testing.TB, jwt string) string {
	t.Helper()
	h, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct{ Kid string }
	_ = json.Unmarshal(b, &hdr)
	return hdr.Kid
}

// signedUp is a customer registered and signed in: what a client holds
// after POST /api/v1/auth/register and POST /api/v1/auth/login.
type signedUp struct {
	Customer identityapi.Customer
	identityapi.Tokens
}

// signUp registers a customer and signs them in, as a client does.
func signUp(ctx context.Context, s *Service, in identityapi.Register) (signedUp, error) {
	c, err := s.Register(ctx, in)
	if err != nil {
		return signedUp{}, err
	}
	tok, err := s.Login(ctx, in.Email, in.Password, "")
	return signedUp{Customer: c, Tokens: tok}, err
}
