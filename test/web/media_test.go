package web

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// upload posts a multipart form as a browser sends an upload form: the
// fields, then the file under fileName.
func (v *visitor) upload(action string, fields map[string]string, fileName string, data []byte) page {
	v.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, val := range fields {
		_ = w.WriteField(k, val)
	}
	fw, _ := w.CreateFormFile("file", fileName)
	_, _ = fw.Write(data)
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, v.p.URL+action, &b)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Host = v.host
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := v.hc.Do(req)
	if err != nil {
		v.t.Fatalf("upload to %s: %v", action, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, URL: resp.Request.URL.RequestURI(), Body: string(raw), Header: resp.Header}
}

// picture is a w × h PNG of a gradient.
func picture(t *testing.T, w, h int, tint uint8) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), tint, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var mediaRe = regexp.MustCompile(`/media/([0-9a-f]{64})/`)

// waitPage loads path until its body matches re, for up to 20 s: uploads
// reach the catalog and the store's settings by events.
func waitPage(t *testing.T, v *visitor, path string, re *regexp.Regexp) page {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pg := v.get(path)
		if pg.Status == 200 && re.MatchString(pg.Body) {
			return pg
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %s: %d\n%.2000s", path, re, pg.Status, pg.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAdminUploadsPictures: an owner adds a picture to a product and a
// logo to the store through the admin's forms (multipart, no JavaScript);
// bad files are refused on the file field with nothing stored; the
// product page and the listings show the picture with its sizes, the
// shop's header the logo; a staff member is offered no upload form.
func TestAdminUploadsPictures(t *testing.T) {
	shop := openAdminOrdersShop(t)
	owner := shop.signIn("owner@orders.test")
	// A new product without pictures: the newest, so the home page's
	// first card.
	r := shop.api("POST", "/api/v1/admin/products", map[string]any{"title": "Framed Print", "status": "active",
		"variants": []map[string]any{{"sku": "PRINT-1", "price": map[string]any{"amount": 2500, "currency": "EUR"}}}},
		shop.ownerToken, "Idempotency-Key", "media-test-print")
	var prod struct {
		ID     string `json:"id"`
		Slug   string `json:"slug"`
		Images []any  `json:"images"`
	}
	r.JSON(t, &prod)
	if r.Status != http.StatusCreated || prod.ID == "" {
		t.Fatalf("create a product: %d %s", r.Status, r.Body)
	}
	before := len(prod.Images)
	editor := "/admin/products/" + prod.ID
	pg := owner.get(editor)
	if !strings.Contains(pg.Body, `id="image-upload"`) || !strings.Contains(pg.Body, `enctype="multipart/form-data"`) {
		t.Fatalf("the product editor offers no upload form:\n%.3000s", pg.Body)
	}
	action := "/admin/media/upload?kind=product_image&product_id=" + prod.ID
	fields := map[string]string{"kind": "product_image", "product_id": prod.ID, "alt": "A side view"}
	good := picture(t, 900, 600, 40)
	for _, bad := range []struct {
		name, file string
		data       []byte
		msg        string
	}{
		{"a renamed executable", "photo.png", append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 4096)...), "must be a PNG, JPEG or GIF image"},
		{"a truncated PNG", "cut.png", good[:len(good)/2], "does not decode"},
		{"a file over the limit", "huge.png", append(append([]byte{}, good...), make([]byte, 11<<20)...), "larger than 10 MB"},
		{"no file", "", nil, "Choose an image"},
	} {
		pg := owner.upload(action, fields, bad.file, bad.data)
		if pg.Status != http.StatusUnprocessableEntity || !fieldMarked(pg.Body, "file", bad.msg) {
			t.Errorf("%s: %d at %s, want 422 with the file field marked %q:\n%.3000s", bad.name, pg.Status, pg.URL, bad.msg, pg.Body)
		}
		if v, _ := fieldValue(pg.Body, "alt"); v != "A side view" {
			t.Errorf("%s: the refused form lost the description: %q", bad.name, v)
		}
	}
	r = shop.api("GET", "/api/v1/products/"+prod.Slug, nil, "")
	var after struct {
		Images []any `json:"images"`
	}
	r.JSON(t, &after)
	if len(after.Images) != before {
		t.Fatalf("refused uploads changed the product's images: %d, was %d", len(after.Images), before)
	}

	pg = owner.upload(action, fields, "side.png", good)
	if pg.Status != 200 || pg.URL != editor || !strings.Contains(pg.Body, "Image uploaded") {
		t.Fatalf("upload: %d at %s\n%.3000s", pg.Status, pg.URL, pg.Body)
	}
	guest := newVisitor(t, shop.p, "localhost")
	product := waitPage(t, guest, "/p/"+prod.Slug, mediaRe)
	hash := mediaRe.FindStringSubmatch(product.Body)[1]
	srcset := `srcset="/media/` + hash + `/160 160w, /media/` + hash + `/320 320w, /media/` + hash + `/640 640w"`
	if !strings.Contains(product.Body, `src="/media/`+hash+`/640"`) || !strings.Contains(product.Body, srcset) ||
		!strings.Contains(product.Body, `alt="A side view"`) {
		t.Errorf("the product page does not draw the upload with its sizes:\n%.4000s", product.Body)
	}
	if n := len(product.Body); n > 60<<10 {
		t.Errorf("the product page is %d KB", n>>10)
	}
	if pg := owner.get(editor); !strings.Contains(pg.Body, `src="/media/`+hash+`/160"`) {
		t.Errorf("the editor does not list the upload:\n%.3000s", pg.Body)
	}
	res := shop.api("GET", "/media/"+hash+"/640", nil, "")
	if res.Status != 200 || res.Header.Get("Content-Type") != "image/png" || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET the 640 variant: %d %v", res.Status, res.Header)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(res.Body)); err != nil || cfg.Width != 640 || cfg.Height != 426 {
		t.Errorf("the 640 variant is %d×%d (%v), want 640×426", cfg.Width, cfg.Height, err)
	}

	// The logo, from the settings page, in the shop's header.
	pg = owner.get("/admin/settings")
	if !strings.Contains(pg.Body, `id="logo-upload"`) {
		t.Fatalf("the settings page offers no logo upload:\n%.3000s", pg.Body)
	}
	pg = owner.upload("/admin/media/upload?kind=logo", map[string]string{"kind": "logo"}, "logo.png", picture(t, 200, 200, 200))
	if pg.Status != 200 || pg.URL != "/admin/settings" || !strings.Contains(pg.Body, "Logo uploaded") {
		t.Fatalf("logo upload: %d at %s\n%.3000s", pg.Status, pg.URL, pg.Body)
	}
	home := waitPage(t, guest, "/", regexp.MustCompile(`<img class="logo" src="/media/[0-9a-f]{64}/160"`))
	if strings.Contains(home.Body, `<span class="logo" aria-hidden="true">`) {
		t.Error("the header still shows the placeholder")
	}
	card := `<a class="product-card" href="/p/` + prod.Slug + `">` + "\n" + `<img src="/media/` + hash + `/320" ` + srcset
	if !strings.Contains(home.Body, card) {
		t.Errorf("the home page's card of the product does not draw the upload with its sizes:\n%.4000s", home.Body)
	}

	// Staff may not upload: no form, and the media service refuses a
	// post all the same.
	staff := shop.signIn(shop.invite("staff"))
	pg = staff.get(editor)
	if pg.Status != 200 || strings.Contains(pg.Body, `id="image-upload"`) {
		t.Errorf("a staff member is offered the upload form (%d)", pg.Status)
	}
	if pg := staff.upload(action, fields, "side.png", picture(t, 50, 50, 1)); pg.Status != http.StatusForbidden {
		t.Errorf("a staff member's upload: %d, want 403", pg.Status)
	}
}
