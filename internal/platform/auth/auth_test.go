package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func claims(kind Kind, role Role) Claims {
	return Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: Issuer, Audience: jwt.ClaimStrings{Audience}, Subject: "acc-1",
			IssuedAt: jwt.NewNumericDate(t0), ExpiresAt: jwt.NewNumericDate(t0.Add(15 * time.Minute)),
		},
		Tenant: "acme", Kind: kind, Role: role,
	}
}

func TestVerify(t *testing.T) {
	pub, priv := newKey(t)
	_, otherPriv := newKey(t)
	v := NewVerifier(StaticKeys{"k1": pub}, func() time.Time { return t0.Add(time.Minute) })
	sign := func(c Claims, key ed25519.PrivateKey, kid string) string {
		s, err := Sign(key, kid, c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(claims(KindStaff, RoleManager), priv, "k1")
	p, err := v.Verify(t.Context(), good)
	if err != nil || p != (Principal{Tenant: "acme", Subject: "acc-1", Kind: KindStaff, Role: RoleManager}) {
		t.Fatalf("good token: %+v, %v", p, err)
	}

	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"k1"}`))
	body := strings.Split(good, ".")[1]
	tampered := func() string {
		parts := strings.Split(good, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		m["rol"] = "owner"
		raw, _ = json.Marshal(m)
		parts[1] = base64.RawURLEncoding.EncodeToString(raw)
		return strings.Join(parts, ".")
	}()
	hs := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(KindStaff, RoleOwner))
		tok.Header["kid"] = "k1"
		s, _ := tok.SignedString([]byte(pub)) // the public key as an HMAC secret
		return s
	}()
	mod := func(f func(*Claims)) string { c := claims(KindStaff, RoleStaff); f(&c); return sign(c, priv, "k1") }

	bad := map[string]string{
		"alg none":              header + "." + body + ".",
		"HS256 with public key": hs,
		"other key":             sign(claims(KindStaff, RoleOwner), otherPriv, "k1"),
		"unknown kid":           sign(claims(KindStaff, RoleOwner), priv, "k9"),
		"no kid":                sign(claims(KindStaff, RoleOwner), priv, ""),
		"tampered role":         tampered,
		"expired":               mod(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(t0.Add(-time.Minute)) }),
		"no expiry":             mod(func(c *Claims) { c.ExpiresAt = nil }),
		"wrong issuer":          mod(func(c *Claims) { c.Issuer = "evil" }),
		"wrong audience":        mod(func(c *Claims) { c.Audience = jwt.ClaimStrings{"other"} }),
		"issued in the future":  mod(func(c *Claims) { c.IssuedAt = jwt.NewNumericDate(t0.Add(time.Hour)) }),
		"no tenant":             mod(func(c *Claims) { c.Tenant = "" }),
		"staff without role":    mod(func(c *Claims) { c.Role = "" }),
		"customer with role":    mod(func(c *Claims) { c.Kind = KindCustomer; c.Role = RoleOwner }),
		"api key kind":          mod(func(c *Claims) { c.Kind = KindAPIKey }),
		"admin kind":            mod(func(c *Claims) { c.Kind = KindAdmin; c.Role = RoleOwner }),
		"garbage":               "not.a.jwt",
	}
	for name, tok := range bad {
		t.Run(name, func(t *testing.T) {
			if p, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("got %+v, %v; want ErrInvalidToken", p, err)
			}
		})
	}
}

func TestRemoteKeys(t *testing.T) {
	pub1, _ := newKey(t)
	pub2, _ := newKey(t)
	var served atomic.Pointer[JWKSet]
	served.Store(&JWKSet{Keys: []JWK{PublicJWK("k1", pub1)}})
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(served.Load())
	}))
	t.Cleanup(srv.Close)
	now := t0
	rk := NewRemoteKeys(srv.URL+JWKSPath, nil)
	rk.now = func() time.Time { return now }
	ctx := context.Background()

	if k, err := rk.Key(ctx, "k1"); err != nil || !k.Equal(pub1) {
		t.Fatalf("k1: %v", err)
	}
	// A rotation: k2 appears. Within MinRefresh an unknown kid is refused
	// without a fetch; after it, one fetch finds it.
	served.Store(&JWKSet{Keys: []JWK{PublicJWK("k1", pub1), PublicJWK("k2", pub2)}})
	for range 50 {
		if _, err := rk.Key(ctx, "forged"); !errors.Is(err, ErrUnknownKey) {
			t.Fatal(err)
		}
	}
	if fetches.Load() != 1 {
		t.Fatalf("%d fetches: unknown kids within MinRefresh must not refetch", fetches.Load())
	}
	now = now.Add(MinRefresh)
	if k, err := rk.Key(ctx, "k2"); err != nil || !k.Equal(pub2) {
		t.Fatalf("k2 after rotation: %v", err)
	}
	// The identity service is down: known keys keep working.
	srv.Close()
	now = now.Add(MaxAge)
	if _, err := rk.Key(ctx, "k1"); err != nil {
		t.Errorf("k1 with the key server down: %v", err)
	}
}

func TestPrincipalContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := From(ctx); ok {
		t.Fatal("a principal in an empty context")
	}
	p := Principal{Tenant: "acme", Subject: "a", Kind: KindStaff, Role: RoleOwner}
	ctx = WithPrincipal(ctx, p)
	if got, ok := From(ctx); !ok || got != p {
		t.Fatalf("From = %+v, %v", got, ok)
	}
	inner := WithoutPrincipal(ctx)
	if got, ok := From(inner); ok {
		t.Fatalf("the inner request inherited %+v", got)
	}
	if got, ok := From(WithPrincipal(inner, Principal{Kind: KindAdmin})); !ok || got.Kind != KindAdmin {
		t.Fatalf("a principal set again: %+v, %v", got, ok)
	}
}
