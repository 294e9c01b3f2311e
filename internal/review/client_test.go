package review

import (
	"testing"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/review/reviewapi"
)

// TestClient walks the pages' review calls through the typed client
// against the real handlers: a wrong path, query, header or body fails
// here.
func TestClient(t *testing.T) {
	f := newFixture(t, sqldbtest.Open(t, "", Migrations...), Config{})
	f.delivered("acme", order("o1", "c-1", t0, "MUG-1", "TEA-1"))
	c := reviewapi.NewClient(f.url, nil)
	guest := tenantCtx(t, "acme")
	staff := apiclient.WithToken(guest, webtest.AdminToken)

	if l, err := c.OrderReviews(guest, "o1", "tok-o1"); err != nil || len(l.Items) != 0 || len(l.Reviewable) != 2 || l.Reviewable[0] != "MUG-1" {
		t.Errorf("order reviews before any: %+v, %v", l, err)
	}
	if _, err := c.Create(guest, "tok-wrong", reviewapi.ReviewCreate{OrderID: "o1", SKU: "MUG-1", Rating: 5, Title: "x"}, ""); !apiclient.IsCode(err, "not_a_buyer") {
		t.Errorf("wrong token: %v", err)
	}
	in := reviewapi.ReviewCreate{OrderID: "o1", SKU: "MUG-1", Rating: 4, Title: "Solid"}
	r, err := c.Create(guest, "tok-o1", in, "key-1")
	if err != nil || r.Status != reviewapi.StatusPublished {
		t.Fatalf("create: %+v, %v", r, err)
	}
	if _, err := c.Create(guest, "tok-o1", in, ""); !apiclient.IsCode(err, "already_reviewed") {
		t.Errorf("second review of the line: %v", err)
	}
	if l, err := c.OrderReviews(guest, "o1", "tok-o1"); err != nil || len(l.Items) != 1 || l.Items[0].ID != r.ID ||
		len(l.Reviewable) != 1 || l.Reviewable[0] != "TEA-1" {
		t.Errorf("order reviews: %+v, %v", l, err)
	}
	if l, err := c.ProductReviews(guest, "p-MUG-1", "", 5); err != nil || len(l.Items) != 1 {
		t.Errorf("product reviews: %+v, %v", l, err)
	}
	if l, err := c.Ratings(guest, []string{"p-MUG-1", "p-TEA-1"}); err != nil || len(l.Items) != 2 || l.Items[0].Count != 1 || l.Items[0].Average != 4 {
		t.Errorf("ratings: %+v, %v", l, err)
	}
	if _, err := c.Hide(staff, r.ID, "Shows a phone number"); err != nil {
		t.Fatal(err)
	}
	if l, err := c.AdminReviews(staff, reviewapi.StatusHidden, "", 0); err != nil || len(l.Items) != 1 || l.Items[0].Reason != "Shows a phone number" {
		t.Errorf("hidden list: %+v, %v", l, err)
	}
	if _, err := c.Reject(staff, r.ID, "x"); !apiclient.IsCode(err, "invalid_transition") {
		t.Errorf("reject hidden: %v", err)
	}
	if got, err := c.AdminReview(staff, r.ID); err != nil || got.Status != reviewapi.StatusHidden || got.OrderID != "o1" {
		t.Errorf("admin review: %+v, %v", got, err)
	}
	if _, err := c.AdminReview(staff, "nope"); !apiclient.IsCode(err, "review_not_found") {
		t.Errorf("unknown review: %v", err)
	}
	if _, err := c.Approve(staff, r.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Reply(staff, r.ID, "Thanks!"); err != nil || got.Reply != "Thanks!" {
		t.Errorf("reply: %+v, %v", got, err)
	}
	if got, err := c.Update(guest, "tok-o1", r.ID, reviewapi.ReviewUpdate{Rating: ptr(int64(2))}, "edit-1"); err != nil || got.Rating != 2 {
		t.Errorf("update: %+v, %v", got, err)
	}
	if _, err := c.Update(guest, "tok-wrong", r.ID, reviewapi.ReviewUpdate{Rating: ptr(int64(1))}, ""); !apiclient.IsCode(err, "review_not_found") {
		t.Errorf("update with a wrong token: %v", err)
	}
	if err := c.Delete(guest, "tok-o1", r.ID); err != nil {
		t.Errorf("delete: %v", err)
	}
	if err := c.Delete(guest, "tok-o1", r.ID); !apiclient.IsCode(err, "review_not_found") {
		t.Errorf("delete again: %v", err)
	}
	if s, err := c.PutSettings(staff, reviewapi.Settings{Moderation: reviewapi.ModerationApprove}); err != nil || s.Moderation != reviewapi.ModerationApprove {
		t.Errorf("put settings: %+v, %v", s, err)
	}
	if s, err := c.Settings(staff); err != nil || s.Moderation != reviewapi.ModerationApprove {
		t.Errorf("settings: %+v, %v", s, err)
	}
	if _, err := c.AdminReviews(guest, reviewapi.StatusPending, "", 0); !apiclient.IsStatus(err, 401) {
		t.Errorf("admin list as a guest: %v", err)
	}
}
