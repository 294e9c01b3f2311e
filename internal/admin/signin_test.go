package admin

import "testing"

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
