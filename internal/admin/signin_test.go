package admin

import (
	"encoding/base64"
	"testing"
)

func TestLocalNext(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "/admin/"},
		{"/admin/products?status=draft", "/admin/products?status=draft"},
		{"/admin", "/admin"},
		{"/admin/stock/MUG-1", "/admin/stock/MUG-1"},
		{"//evil.example/admin/", "/admin/"},
		{"https://evil.example/admin/", "/admin/"},
		{"/\\evil.example", "/admin/"},
		{"/account", "/admin/"},
		{"/administrator", "/admin/"},
		{"/admin/../account", "/admin/"},
		{"/admin/sign-in", "/admin/"},
		{"/admin/setup", "/admin/"},
		{"javascript:alert(1)", "/admin/"},
		{"/admin/\r\nSet-Cookie: x", "/admin/"},
	} {
		if got := localNext(tt.in); got != tt.want {
			t.Errorf("localNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokenRole(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	for _, tt := range []struct{ token, want string }{
		{enc([]byte(`{"alg":"EdDSA"}`)) + "." + enc([]byte(`{"sub":"s1","knd":"staff","rol":"manager"}`)) + ".sig", "manager"},
		{enc([]byte(`{}`)) + "." + enc([]byte(`{"sub":"c1","knd":"customer"}`)) + ".sig", ""},
		{"not-a-token", ""},
		{"a.!!!.c", ""},
	} {
		if got := tokenRole(tt.token); got != tt.want {
			t.Errorf("tokenRole(%q) = %q, want %q", tt.token, got, tt.want)
		}
	}
}
