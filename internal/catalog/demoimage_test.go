package catalog

import (
	"bytes"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
)

// Every image URL the demo seed writes answers 200 image/png with a
// picture of the demo size, a few KB, the same bytes every time; the same
// name in .jpg (as earlier seeds wrote it) answers the picture as a JPEG;
// other names are 404.
func TestDemoImages(t *testing.T) {
	t.Parallel()
	f := newHTTPFixture(t)
	if _, err := f.svc.SeedDemo(tenantCtx(t, "default")); err != nil {
		t.Fatal(err)
	}
	var urls []string
	path := "/api/v1/admin/products?limit=100"
	for path != "" {
		var l catalogapi.ProductList
		f.json(req{method: "GET", path: path, admin: true}, 200, &l)
		for _, p := range l.Items {
			if len(p.Images) == 0 {
				t.Errorf("demo product %s has no image", p.Slug)
			}
			for _, im := range p.Images {
				urls = append(urls, im.URL)
			}
		}
		path = ""
		if l.NextCursor != "" {
			path = "/api/v1/admin/products?limit=100&cursor=" + l.NextCursor
		}
	}
	if len(urls) != len(demoProducts()) {
		t.Fatalf("%d image URLs, want one per demo product (%d)", len(urls), len(demoProducts()))
	}
	seen := map[string]bool{}
	for _, u := range urls {
		r := f.do(req{method: "GET", path: u})
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/png" {
			t.Fatalf("GET %s: %d %q, want 200 image/png", u, r.status, r.header.Get("Content-Type"))
		}
		img, err := png.Decode(bytes.NewReader(r.body))
		if err != nil {
			t.Fatalf("GET %s: not a PNG: %v", u, err)
		}
		if b := img.Bounds(); b.Dx() != demoImageSize || b.Dy() != demoImageSize {
			t.Errorf("GET %s: %v, want %d×%d", u, b, demoImageSize, demoImageSize)
		}
		// Light enough that a page of eight product cards stays small.
		if len(r.body) > 6<<10 {
			t.Errorf("GET %s: %d bytes, want at most 6 KB", u, len(r.body))
		}
		if seen[string(r.body)] {
			t.Errorf("GET %s: the same picture as another product's", u)
		}
		seen[string(r.body)] = true
		// Drawn again from scratch, the picture is byte for byte the same.
		again, ok, err := newDemoMedia().image(u[len(demoImagePrefix):])
		if err != nil || !ok || !bytes.Equal(again.data, r.body) {
			t.Errorf("%s drawn twice differs (ok %v, err %v)", u, ok, err)
		}
	}

	// The name earlier seeds wrote: the same picture, as a JPEG.
	old := strings.TrimSuffix(urls[0], ".png") + ".jpg"
	r := f.do(req{method: "GET", path: old})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET %s: %d %q, want 200 image/jpeg", old, r.status, r.header.Get("Content-Type"))
	}
	if jpg, err := jpeg.Decode(bytes.NewReader(r.body)); err != nil || jpg.Bounds().Dx() != demoImageSize {
		t.Errorf("GET %s: not a %dpx JPEG (%v)", old, demoImageSize, err)
	}

	// A revalidation with the ETag costs no body.
	u := urls[0]
	etag := f.do(req{method: "GET", path: u}).header.Get("ETag")
	hr, err := http.NewRequestWithContext(t.Context(), "GET", f.url+u, nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("If-None-Match", etag)
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if etag == "" || res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %q: %d, want 304", etag, res.StatusCode)
	}

	for _, p := range []string{"/media/demo/no-such-product.png", "/media/demo/no-such-product.jpg", strings.TrimSuffix(urls[0], ".png") + ".gif",
		strings.TrimSuffix(urls[0], ".png"), "/media/demo/", "/media/demo/..%2Fcatalog.db"} {
		if r := f.do(req{method: "GET", path: p}); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}
}
