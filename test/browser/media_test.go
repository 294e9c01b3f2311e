package browser

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAdminUploadsAPicture: in Chromium with JavaScript off, the owner
// picks a picture in a product's admin page and sends the form; the shop's
// product page then shows it, the browser having chosen one of its sizes
// from the srcset and decoded it.
func TestAdminUploadsAPicture(t *testing.T) {
	chromium(t)
	t.Parallel()
	s := startShop(t)
	// A product without pictures, made while the admin token still works.
	res := s.admin("POST", "/api/v1/admin/products", map[string]any{"title": "Browser Print", "status": "active",
		"variants": []map[string]any{{"sku": "BR-PRINT-1", "price": map[string]any{"amount": 1900, "currency": "EUR"}}}}, 201)
	var prod struct {
		ID   string `json:"id"`
		Slug string `json:"slug"`
	}
	res.JSON(t, &prod)
	file := filepath.Join(t.TempDir(), "print.png")
	img := image.NewNRGBA(image.Rect(0, 0, 900, 600))
	for y := range 600 {
		for x := range 900 {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()

	b := newBrowser(t, browserOptions{NoScript: true, Timeout: 4 * time.Minute})
	ctx := b.ctx
	run(t, ctx, "open the setup", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.base+"/admin/setup"))
	arrive(t, ctx, "/admin/setup", "form#setup")
	run(t, ctx, "set up the owner",
		chromedp.SendKeys(chromedp.CSS("#f-admin_token"), s.p.Token),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Olga Owner"),
		chromedp.SendKeys(chromedp.CSS("#f-email"), "olga@example.com"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), adminPassword),
		chromedp.Click(chromedp.CSS("#setup-submit")))
	arrive(t, ctx, "/admin/", "#h-revenue")

	editor := "/admin/products/" + prod.ID
	run(t, ctx, "open the product", chromedp.Navigate(s.base+editor))
	arrive(t, ctx, editor, "#image-upload")
	run(t, ctx, "upload the picture",
		chromedp.SetUploadFiles(chromedp.CSS("#f-file"), []string{file}),
		chromedp.SendKeys(chromedp.CSS(field("alt")), "A framed print"),
		chromedp.Click(chromedp.CSS("#upload-image")))
	arrive(t, ctx, editor, "main .alert")
	if flash := text(t, ctx, "main .alert"); !strings.Contains(flash, "Image uploaded") {
		t.Fatalf("the upload says %q", flash)
	}

	// The picture reaches the product by an event: the shop shows it
	// within moments.
	shopPage := "/p/" + prod.Slug
	deadline := time.Now().Add(shopWait)
	for {
		run(t, ctx, "open the product in the shop", chromedp.Navigate(s.base+shopPage))
		arrive(t, ctx, shopPage, "main h1")
		if count(t, ctx, `.gallery img[srcset]`) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shop's product page never showed the picture")
		}
		time.Sleep(200 * time.Millisecond)
	}
	src, err := poll(ctx, `(() => { const i = document.querySelector(".gallery img[srcset]");
		return i && i.complete && i.naturalWidth > 0 ? i.currentSrc + " " + i.naturalWidth : ""; })()`, shopWait)
	if err != nil {
		t.Fatalf("the picture did not load: %v", err)
	}
	if !strings.Contains(src, "/media/") || !(strings.HasSuffix(src, " 160") || strings.HasSuffix(src, " 320") || strings.HasSuffix(src, " 640")) {
		t.Errorf("the browser drew %q, want one of the upload's variants", src)
	}
	if n := count(t, ctx, `.gallery img[alt="A framed print"]`); n != 1 {
		t.Errorf("%d pictures carry the alternative text typed with the upload, want 1", n)
	}
	checkPage(t, ctx, "shop-product-uploaded-picture")
}
