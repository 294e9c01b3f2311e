package review

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/review/reviewapi"
)

func ptr[T any](v T) *T { return &v }

// TestWhoMayReview: only the buyer of a delivered order's line, once per
// line: a signed-in customer by account, a guest by order token.
func TestWhoMayReview(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		ctx := tenantCtx(t, "default")
		f.delivered("default", order("o1", "c-1", t0, "MUG-1", "TEA-1"))
		f.feed("default", orderapi.SubjectConfirmed, order("o2", "", t0, "MUG-1")) // a guest's, not delivered
		f.delivered("default", order("o3", "", t0, "MUG-1"))                       // a guest's, delivered
		cancelled := order("o4", "c-1", t0, "MUG-1")
		f.feed("default", orderapi.SubjectConfirmed, cancelled)
		cancelled.UpdatedAt = t0.Add(time.Minute)
		f.feed("default", orderapi.SubjectCancelled, cancelled)

		in := func(orderID, sku string) reviewapi.ReviewCreate {
			return reviewapi.ReviewCreate{OrderID: orderID, SKU: sku, Rating: 4, Title: "Good"}
		}
		for _, c := range []struct {
			name string
			b    Buyer
			in   reviewapi.ReviewCreate
			want error
		}{
			{"nobody", Buyer{}, in("o1", "MUG-1"), ErrNotBuyer},
			{"another customer", Buyer{CustomerID: "c-2"}, in("o1", "MUG-1"), ErrNotBuyer},
			{"a wrong order token", Buyer{OrderToken: "tok-o9"}, in("o1", "MUG-1"), ErrNotBuyer},
			{"an unknown order", Buyer{CustomerID: "c-1"}, in("o9", "MUG-1"), ErrNotBuyer},
			{"a line not in the order", Buyer{CustomerID: "c-1"}, in("o1", "CUP-1"), ErrNotBuyer},
			{"before delivery", Buyer{OrderToken: "tok-o2"}, in("o2", "MUG-1"), ErrNotDelivered},
			{"a cancelled order", Buyer{CustomerID: "c-1"}, in("o4", "MUG-1"), ErrNotDelivered},
		} {
			if _, err := f.svc.Create(ctx, c.b, c.in); !errors.Is(err, c.want) {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
			}
		}
		r, err := f.svc.Create(ctx, Buyer{CustomerID: "c-1"}, in("o1", "MUG-1"))
		if err != nil || r.Status != reviewapi.StatusPublished || r.ProductID != "p-MUG-1" || r.AuthorName != "Ada L." || r.OrderID != "o1" {
			t.Fatalf("customer's review: %+v, %v", r, err)
		}
		if _, err := f.svc.Create(ctx, Buyer{CustomerID: "c-1"}, in("o1", "MUG-1")); !errors.Is(err, ErrAlreadyReviewed) {
			t.Errorf("second review of the line: %v, want ErrAlreadyReviewed", err)
		}
		// The order token of a customer's order proves it too.
		if _, err := f.svc.Create(ctx, Buyer{OrderToken: "tok-o1"}, in("o1", "TEA-1")); err != nil {
			t.Errorf("review with the order token: %v", err)
		}
		g, err := f.svc.Create(ctx, Buyer{OrderToken: "tok-o3"}, reviewapi.ReviewCreate{OrderID: "o3", SKU: "MUG-1", Rating: 2,
			Title: "<b>meh</b>", Body: "<script>alert(1)</script>", AuthorName: " Bob "})
		if err != nil || g.Title != "<b>meh</b>" || g.Body != "<script>alert(1)</script>" || g.AuthorName != "Bob" {
			t.Fatalf("guest's review (HTML kept as text): %+v, %v", g, err)
		}
		// Another store knows none of this.
		if _, err := f.svc.Create(tenantCtx(t, "other"), Buyer{CustomerID: "c-1"}, in("o1", "MUG-1")); !errors.Is(err, ErrNotBuyer) {
			t.Errorf("other store: %v, want ErrNotBuyer", err)
		}
		rt, err := f.svc.Rating(ctx, "p-MUG-1")
		if err != nil || rt.Count != 2 || rt.Average != 3 || rt.Histogram != [5]int64{0, 1, 0, 1, 0} {
			t.Errorf("rating = %+v, %v", rt, err)
		}
	}, Migrations...)
}

// TestRatingFollowsThePublishedSet: every change of a product's published
// set recomputes its aggregate and announces it whole with the next
// version, in the same transaction; review.published.v1 announces a review
// that became visible.
func TestRatingFollowsThePublishedSet(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		ctx := tenantCtx(t, "default")
		f.delivered("default", order("o1", "c-1", t0, "MUG-1"))
		f.delivered("default", order("o2", "c-2", t0, "MUG-1"))
		c1, c2 := Buyer{CustomerID: "c-1"}, Buyer{CustomerID: "c-2"}
		check := func(step string, count int64, avg float64, hist [5]int64, version int64) {
			t.Helper()
			got := lastRating(t, db, "p-MUG-1")
			want := reviewapi.RatingChanged{ProductID: "p-MUG-1", Count: count, Average: avg, Histogram: hist, Version: version}
			if got != want {
				t.Errorf("%s: event %+v, want %+v", step, got, want)
			}
			r, err := f.svc.Rating(ctx, "p-MUG-1")
			if err != nil || r.Count != count || r.Average != avg || r.Histogram != hist {
				t.Errorf("%s: rating %+v, %v", step, r, err)
			}
		}
		a, err := f.svc.Create(ctx, c1, reviewapi.ReviewCreate{OrderID: "o1", SKU: "MUG-1", Rating: 5, Title: "Great"})
		if err != nil {
			t.Fatal(err)
		}
		check("first review", 1, 5, [5]int64{0, 0, 0, 0, 1}, 1)
		b, err := f.svc.Create(ctx, c2, reviewapi.ReviewCreate{OrderID: "o2", SKU: "MUG-1", Rating: 2, Title: "Chipped"})
		if err != nil {
			t.Fatal(err)
		}
		check("second review", 2, 3.5, [5]int64{0, 1, 0, 0, 1}, 2)
		if _, err := f.svc.Update(ctx, c2, b.ID, reviewapi.ReviewUpdate{Rating: ptr(int64(3))}); err != nil {
			t.Fatal(err)
		}
		check("edited rating", 2, 4, [5]int64{0, 0, 1, 0, 1}, 3)
		// Only the title changes: the set's ratings do not, no new version.
		if _, err := f.svc.Update(ctx, c2, b.ID, reviewapi.ReviewUpdate{Title: ptr("Chipped, but fine")}); err != nil {
			t.Fatal(err)
		}
		check("edited title", 2, 4, [5]int64{0, 0, 1, 0, 1}, 3)
		if _, err := f.svc.Moderate(ctx, a.ID, reviewapi.StatusHidden, "spam link", "staff:s-1"); err != nil {
			t.Fatal(err)
		}
		check("hidden", 1, 3, [5]int64{0, 0, 1, 0, 0}, 4)
		if got, err := f.svc.AdminReview(ctx, a.ID); err != nil || got.Reason != "spam link" || got.Status != reviewapi.StatusHidden {
			t.Errorf("hidden review: %+v, %v", got, err)
		}
		if _, err := f.svc.Moderate(ctx, a.ID, reviewapi.StatusPublished, "", "staff:s-1"); err != nil {
			t.Fatal(err)
		}
		check("approved again", 2, 4, [5]int64{0, 0, 1, 0, 1}, 5)
		if err := f.svc.Delete(ctx, c2, b.ID); err != nil {
			t.Fatal(err)
		}
		check("deleted", 1, 5, [5]int64{0, 0, 0, 0, 1}, 6)
		if err := f.svc.Delete(ctx, c1, b.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete a deleted review: %v", err)
		}
		// Published: a (created), b (created), b (rating edit), b (title
		// edit), a (approved again).
		var ids []string
		for _, p := range events[reviewapi.Published](t, db, reviewapi.SubjectPublished) {
			ids = append(ids, p.ID)
		}
		if want := []string{a.ID, b.ID, b.ID, b.ID, a.ID}; !slices.Equal(ids, want) {
			t.Errorf("published events %v, want %v", ids, want)
		}
		// The deleted line may be reviewed again.
		if _, err := f.svc.Create(ctx, c2, reviewapi.ReviewCreate{OrderID: "o2", SKU: "MUG-1", Rating: 1, Title: "Again"}); err != nil {
			t.Errorf("review again after delete: %v", err)
		}
		l, err := f.svc.Ratings(ctx, []string{"p-none", "p-MUG-1"})
		if err != nil || len(l) != 2 || l[0].ProductID != "p-none" || l[0].Count != 0 || l[1].Count != 2 {
			t.Errorf("ratings = %+v, %v", l, err)
		}
	}, Migrations...)
}

// TestModeration: in a store that approves first, reviews wait; staff
// approve, reject (with a reason) or hide; an edit goes back to pending
// after a rejection; moderation out of order is ErrTransition.
func TestModeration(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		ctx := tenantCtx(t, "default")
		if s, err := f.svc.Settings(ctx); err != nil || s.Moderation != reviewapi.ModerationPublish {
			t.Fatalf("default settings %+v, %v", s, err)
		}
		if _, err := f.svc.PutSettings(ctx, reviewapi.Settings{Moderation: reviewapi.ModerationApprove}); err != nil {
			t.Fatal(err)
		}
		f.delivered("default", order("o1", "c-1", t0, "MUG-1", "TEA-1"))
		c1 := Buyer{CustomerID: "c-1"}
		a, err := f.svc.Create(ctx, c1, reviewapi.ReviewCreate{OrderID: "o1", SKU: "MUG-1", Rating: 4, Title: "Nice"})
		if err != nil || a.Status != reviewapi.StatusPending {
			t.Fatalf("create: %+v, %v", a, err)
		}
		if n := len(events[reviewapi.RatingChanged](t, db, reviewapi.SubjectRatingChanged)); n != 0 {
			t.Errorf("%d rating events for a pending review", n)
		}
		if l, _ := f.svc.ProductReviews(ctx, "p-MUG-1", "", 0); len(l.Items) != 0 {
			t.Errorf("pending review listed publicly: %+v", l.Items)
		}
		if l, _ := f.svc.AdminReviews(ctx, reviewapi.StatusPending, "", 0); len(l.Items) != 1 || l.Items[0].ID != a.ID {
			t.Errorf("pending list: %+v", l.Items)
		}
		if _, err := f.svc.Moderate(ctx, a.ID, reviewapi.StatusHidden, "x", "staff:s-1"); !errors.Is(err, ErrTransition) {
			t.Errorf("hide a pending review: %v, want ErrTransition", err)
		}
		var ve *kit.ValidationError
		if _, err := f.svc.Moderate(ctx, a.ID, reviewapi.StatusRejected, " ", "staff:s-1"); !errors.As(err, &ve) {
			t.Errorf("reject without a reason: %v, want a validation error", err)
		}
		r, err := f.svc.Moderate(ctx, a.ID, reviewapi.StatusRejected, "Not about the product", "staff:s-1")
		if err != nil || r.Status != reviewapi.StatusRejected || r.Reason != "Not about the product" {
			t.Fatalf("reject: %+v, %v", r, err)
		}
		if _, err := f.svc.PutSettings(ctx, reviewapi.Settings{Moderation: reviewapi.ModerationPublish}); err != nil {
			t.Fatal(err)
		}
		// Rejected, then edited: staff decide again, even in a store that
		// publishes at once.
		if r, err = f.svc.Update(ctx, c1, a.ID, reviewapi.ReviewUpdate{Body: ptr("About the mug, really.")}); err != nil || r.Status != reviewapi.StatusPending {
			t.Fatalf("edit after reject: %+v, %v", r, err)
		}
		if r, err = f.svc.Moderate(ctx, a.ID, reviewapi.StatusPublished, "", "staff:s-1"); err != nil || r.Status != reviewapi.StatusPublished {
			t.Fatalf("approve: %+v, %v", r, err)
		}
		if _, err := f.svc.Moderate(ctx, a.ID, reviewapi.StatusRejected, "late", "staff:s-1"); !errors.Is(err, ErrTransition) {
			t.Errorf("reject a published review: %v, want ErrTransition", err)
		}
		if r, err = f.svc.Reply(ctx, a.ID, "Thank you!"); err != nil || r.Reply != "Thank you!" || r.RepliedAt == nil {
			t.Fatalf("reply: %+v, %v", r, err)
		}
		l, err := f.svc.ProductReviews(ctx, "p-MUG-1", "", 0)
		if err != nil || len(l.Items) != 1 || l.Items[0].Reply != "Thank you!" || l.Items[0].OrderID != "" || l.Items[0].Reason != "" {
			t.Errorf("public list: %+v, %v", l.Items, err)
		}
		if r, err = f.svc.Reply(ctx, a.ID, ""); err != nil || r.Reply != "" || r.RepliedAt != nil {
			t.Errorf("reply removed: %+v, %v", r, err)
		}
		if _, err := f.svc.Moderate(ctx, "nope", reviewapi.StatusPublished, "", "staff:s-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("approve an unknown review: %v", err)
		}
	}, Migrations...)
}

// TestLimits: the body's length limit, refused fields, and the rate limit
// per author.
func TestLimits(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{MaxBody: 10, WriteLimit: 2, WriteWindow: time.Hour})
		ctx := tenantCtx(t, "default")
		f.delivered("default", order("o1", "c-1", t0, "A", "B", "C"))
		c1 := Buyer{CustomerID: "c-1"}
		var ve *kit.ValidationError
		_, err := f.svc.Create(ctx, c1, reviewapi.ReviewCreate{OrderID: "o1", SKU: "A", Rating: 6, Title: " ", Body: strings.Repeat("é", 11)})
		if !errors.As(err, &ve) || len(ve.Fields) != 3 {
			t.Fatalf("bad review: %v", err)
		}
		if _, err := f.svc.Create(ctx, c1, reviewapi.ReviewCreate{OrderID: "o1", SKU: "A", Rating: 5, Title: "ok", Body: strings.Repeat("é", 10)}); err != nil {
			t.Fatalf("a body at the limit: %v", err)
		}
		a, err := f.svc.Create(ctx, c1, reviewapi.ReviewCreate{OrderID: "o1", SKU: "B", Rating: 5, Title: "ok"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Create(ctx, c1, reviewapi.ReviewCreate{OrderID: "o1", SKU: "C", Rating: 5, Title: "ok"}); !errors.Is(err, ErrRateLimited) {
			t.Errorf("third write in the window: %v, want ErrRateLimited", err)
		}
		if _, err := f.svc.Update(ctx, c1, a.ID, reviewapi.ReviewUpdate{Title: ptr("edited")}); !errors.Is(err, ErrRateLimited) {
			t.Errorf("an edit counts too: %v, want ErrRateLimited", err)
		}
		f.advance(time.Hour)
		if _, err := f.svc.Create(ctx, c1, reviewapi.ReviewCreate{OrderID: "o1", SKU: "C", Rating: 5, Title: "ok"}); err != nil {
			t.Errorf("after the window: %v", err)
		}
	}, Migrations...)
}
