package storefront

import "testing"

// TestLocalPath: a sign-in's next parameter leads only to a path of this
// site, never to another host however it is spelt.
func TestLocalPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/account", "/account"},
		{"/orders/0192?token=abc", "/orders/0192?token=abc"},
		{"/checkout#pay", "/checkout#pay"},
		{"", ""},
		{"account", ""},
		{"//evil.example/x", ""},
		{"/\\evil.example", ""},
		{"\\\\evil.example", ""},
		{"https://evil.example/", ""},
		{"javascript:alert(1)", ""},
		{"/\t/evil.example", ""},
		{"/\r\nLocation: x", ""},
		{" /account", ""},
	} {
		if got := localPath(tc.in); got != tc.want {
			t.Errorf("localPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
