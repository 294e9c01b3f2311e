package storefront

import (
	"strings"
	"testing"
)

func TestResponsive(t *testing.T) {
	h := strings.Repeat("0a", 32)
	for _, tc := range []struct {
		url, src, srcset string
	}{
		{"/media/" + h, "/media/" + h + "/320", "/media/" + h + "/160 160w, /media/" + h + "/320 320w, /media/" + h + "/640 640w"},
		{"/media/" + h + "/640", "/media/" + h + "/320", "/media/" + h + "/160 160w, /media/" + h + "/320 320w, /media/" + h + "/640 640w"},
		// Not an upload: drawn as it is.
		{"/media/demo/mug.png", "/media/demo/mug.png", ""},
		{"https://cdn.example/" + h + ".png", "https://cdn.example/" + h + ".png", ""},
		{"/media/" + h + "/161", "/media/" + h + "/161", ""},
		{"/media/" + strings.ToUpper(h), "/media/" + strings.ToUpper(h), ""},
	} {
		src, srcset := responsive(tc.url, 320)
		if src != tc.src || srcset != tc.srcset {
			t.Errorf("responsive(%q) = %q, %q; want %q, %q", tc.url, src, srcset, tc.src, tc.srcset)
		}
	}
}
