package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"
)

// TestReviewsSearchMediaOnEveryBus follows the events the review, search
// and media services live on through each bus: embedded NATS on SQLite,
// and on PostgreSQL the external NATS server and RabbitMQ when configured.
// A new product becomes searchable (catalog → search); a picture uploaded
// for it is on its product answer (media → catalog); a guest buys it, the
// order is shipped and delivered (order → review), the guest reviews it
// with the order's token, and the rating reaches the search index
// (review → search).
func TestReviewsSearchMediaOnEveryBus(t *testing.T) {
	t.Parallel()
	for name, flags := range busSetups() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openShop(t, flags(t))
			sku := s.newSKU(5)

			// catalog → search
			var productID string
			waitFor(t, "the new product in the search", func() (bool, string) {
				r := s.p.Call("GET", "/api/v1/search?q="+url.QueryEscape(sku), nil, nil)
				var res struct {
					Items []struct {
						ID string `json:"id"`
					} `json:"items"`
				}
				_ = json.Unmarshal(r.Body, &res)
				if r.Status != http.StatusOK || len(res.Items) != 1 {
					return false, fmt.Sprintf("%d %s", r.Status, r.Body)
				}
				productID = res.Items[0].ID
				return true, ""
			})

			// media → catalog
			r := s.p.Call("POST", "/api/v1/admin/media", uploadBody(t, productID),
				s.p.Admin("Content-Type", uploadContentType, "Idempotency-Key", "upload-"+sku))
			if r.Status != http.StatusCreated {
				t.Fatalf("upload: %d %s", r.Status, r.Body)
			}
			waitFor(t, "the picture on the product", func() (bool, string) {
				r := s.p.Call("GET", "/api/v1/products/"+productID, nil, nil)
				var p struct {
					Images []struct {
						URL string `json:"url"`
					} `json:"images"`
				}
				_ = json.Unmarshal(r.Body, &p)
				return len(p.Images) == 1, string(r.Body)
			})

			// order → review → search
			r = s.checkout(checkoutBody("reviewer@example.com", "tok_visa", map[string]int{sku: 1}), "")
			if r.Status != http.StatusCreated {
				t.Fatalf("checkout: %d %s", r.Status, r.Body)
			}
			var o struct {
				ID        string `json:"id"`
				Token     string `json:"token"`
				Shipments []struct {
					ID string `json:"id"`
				} `json:"shipments"`
			}
			r.JSON(t, &o)
			r = s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "00340434169999999999"}, s.admin())
			if r.Status != http.StatusOK && r.Status != http.StatusCreated {
				t.Fatalf("ship: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &o)
			r = s.p.Call("POST", "/api/v1/admin/orders/"+o.ID+"/shipments/"+o.Shipments[len(o.Shipments)-1].ID+"/events", map[string]any{"status": "delivered"}, s.admin())
			if r.Status != http.StatusOK && r.Status != http.StatusCreated {
				t.Fatalf("deliver: %d %s", r.Status, r.Body)
			}
			guest := map[string]string{"X-Order-Token": o.Token}
			waitFor(t, "the delivered line reviewable", func() (bool, string) {
				r := s.p.Call("GET", "/api/v1/reviews/orders/"+o.ID, nil, guest)
				var rv struct {
					Reviewable []string `json:"reviewable"`
				}
				_ = json.Unmarshal(r.Body, &rv)
				return len(rv.Reviewable) == 1 && rv.Reviewable[0] == sku, string(r.Body)
			})
			r = s.p.Call("POST", "/api/v1/reviews", map[string]any{"order_id": o.ID, "sku": sku, "rating": 4, "title": "Does the job"},
				map[string]string{"X-Order-Token": o.Token, "Idempotency-Key": "review-" + sku})
			if r.Status != http.StatusCreated {
				t.Fatalf("review: %d %s", r.Status, r.Body)
			}
			waitFor(t, "the rating in the search", func() (bool, string) {
				r := s.p.Call("GET", "/api/v1/search?rating=4&q="+url.QueryEscape(sku), nil, nil)
				var res struct {
					Items []struct {
						ID string `json:"id"`
					} `json:"items"`
				}
				_ = json.Unmarshal(r.Body, &res)
				return len(res.Items) == 1 && res.Items[0].ID == productID, string(r.Body)
			})
		})
	}
}

const uploadBoundary = "mercato-e2e-upload"

var uploadContentType = "multipart/form-data; boundary=" + uploadBoundary

// uploadBody is a multipart upload of a small PNG as productID's picture.
func uploadBody(t *testing.T, productID string) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for x := range 32 {
		for y := range 32 {
			img.Set(x, y, color.RGBA{R: uint8(x * 8), G: uint8(y * 8), B: 90, A: 255})
		}
	}
	var pic, body bytes.Buffer
	if err := png.Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	mw := multipart.NewWriter(&body)
	if err := mw.SetBoundary(uploadBoundary); err != nil {
		t.Fatal(err)
	}
	_ = mw.WriteField("kind", "product_image")
	_ = mw.WriteField("product_id", productID)
	fw, err := mw.CreateFormFile("file", "picture.png")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(pic.Bytes())
	_ = mw.Close()
	return body.String()
}
