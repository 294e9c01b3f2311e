package review

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/web/webtest"
	"github.com/mercato/mercato/internal/review/reviewapi"
)

// TestHTTPRefusals: each refusal of a review has its status and code.
func TestHTTPRefusals(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		f.delivered("default", order("o1", "c-1", t0, "MUG-1"))
		f.feed("default", orderapi.SubjectConfirmed, order("o2", "c-1", t0, "MUG-1"))
		body := func(orderID string) map[string]any {
			return map[string]any{"order_id": orderID, "sku": "MUG-1", "rating": 5, "title": "Lovely"}
		}
		// Without an order token or a customer's token nobody shows they
		// bought it.
		f.wantProblem(call{method: "POST", path: "/api/v1/reviews", body: body("o1")}, 403, "not_a_buyer")
		f.wantProblem(call{method: "POST", path: "/api/v1/reviews", body: body("o1"), authz: customer(t, "c-2")}, 403, "not_a_buyer")
		f.wantProblem(call{method: "POST", path: "/api/v1/reviews", body: body("o1"), orderToken: "tok-o2"}, 403, "not_a_buyer")
		f.wantProblem(call{method: "POST", path: "/api/v1/reviews", body: body("o2"), authz: customer(t, "c-1")}, 409, "not_delivered")
		f.wantProblem(call{method: "POST", path: "/api/v1/reviews?token=tok-o2", body: body("o2")}, 409, "not_delivered")
		long := body("o1")
		long["body"] = strings.Repeat("x", DefaultMaxBody+1)
		var p problem
		f.want(call{method: "POST", path: "/api/v1/reviews", body: long, authz: customer(t, "c-1")}, 422, &p)
		if p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Location != "body.body" {
			t.Errorf("long body: %+v", p)
		}
		f.wantProblem(call{method: "POST", path: "/api/v1/reviews", body: map[string]any{"order_id": "o1", "sku": "MUG-1", "rating": 6, "title": "x"},
			authz: customer(t, "c-1")}, 422, "validation_failed")
		var r reviewapi.Review
		f.want(call{method: "POST", path: "/api/v1/reviews", body: body("o1"), authz: customer(t, "c-1")}, 201, &r)
		f.wantProblem(call{method: "POST", path: "/api/v1/reviews", body: body("o1"), orderToken: "tok-o1"}, 409, "already_reviewed")
		// Someone else's review is not found, to anyone but its author.
		f.wantProblem(call{method: "PATCH", path: "/api/v1/reviews/" + r.ID, body: map[string]any{"rating": 1}, authz: customer(t, "c-2")}, 404, "review_not_found")
		f.wantProblem(call{method: "DELETE", path: "/api/v1/reviews/" + r.ID, orderToken: "tok-o2"}, 404, "review_not_found")
		f.wantProblem(call{method: "PATCH", path: "/api/v1/reviews/" + r.ID, body: map[string]any{}}, 404, "review_not_found")
		// Another's order has nothing to show them, as an unknown one.
		var theirs reviewapi.OrderReviews
		f.want(call{method: "GET", path: "/api/v1/reviews/orders/o1", authz: customer(t, "c-2")}, 200, &theirs)
		if len(theirs.Items) != 0 || len(theirs.Reviewable) != 0 {
			t.Errorf("another's order's reviews: %+v", theirs)
		}
		var anon reviewapi.OrderReviews
		f.want(call{method: "GET", path: "/api/v1/reviews/orders/o1"}, 200, &anon)
		if len(anon.Items) != 0 || len(anon.Reviewable) != 0 {
			t.Errorf("an order's reviews without a token: %+v", anon)
		}
		var undelivered reviewapi.OrderReviews
		f.want(call{method: "GET", path: "/api/v1/reviews/orders/o2", authz: customer(t, "c-1")}, 200, &undelivered)
		if len(undelivered.Reviewable) != 0 {
			t.Errorf("an undelivered order offers %v for review", undelivered.Reviewable)
		}
		var mine reviewapi.OrderReviews
		f.want(call{method: "GET", path: "/api/v1/reviews/orders/o1?token=tok-o1"}, 200, &mine)
		if len(mine.Items) != 1 || mine.Items[0].ID != r.ID || mine.Items[0].OrderID != "o1" || len(mine.Reviewable) != 0 {
			t.Errorf("order's reviews: %+v", mine)
		}
		f.wantProblem(call{method: "POST", path: "/api/v1/admin/reviews/" + r.ID + "/reject", body: map[string]any{"reason": "x"},
			authz: "Bearer " + webtest.AdminToken}, 409, "invalid_transition")
		f.wantProblem(call{method: "GET", path: "/api/v1/reviews?product_id=p&cursor=zzz"}, 422, "invalid_cursor")
	}, Migrations...)
}

// TestHTTPReads: the public list (paged, without orders or reasons) and
// the batch of ratings.
func TestHTTPReads(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	f := newFixture(t, db, Config{Paging: kitPaging(2)})
	for i := range 3 {
		id := fmt.Sprintf("o%d", i)
		f.delivered("default", order(id, "", t0, "MUG-1"))
		f.want(call{method: "POST", path: "/api/v1/reviews", orderToken: "tok-" + id,
			body: map[string]any{"order_id": id, "sku": "MUG-1", "rating": i + 3, "title": "<i>t</i>"}}, 201, nil)
	}
	var page reviewapi.ReviewList
	f.want(call{method: "GET", path: "/api/v1/reviews?product_id=p-MUG-1"}, 200, &page)
	if len(page.Items) != 2 || page.NextCursor == "" || page.Items[0].Rating != 5 || page.Items[0].OrderID != "" || page.Items[0].Title != "<i>t</i>" {
		t.Fatalf("first page: %+v", page)
	}
	next := page.NextCursor
	page = reviewapi.ReviewList{}
	f.want(call{method: "GET", path: "/api/v1/reviews?product_id=p-MUG-1&cursor=" + next}, 200, &page)
	if len(page.Items) != 1 || page.NextCursor != "" || page.Items[0].Rating != 3 {
		t.Fatalf("second page: %+v", page)
	}
	var rl reviewapi.RatingList
	f.want(call{method: "GET", path: "/api/v1/reviews/ratings?product_id=p-none,p-MUG-1"}, 200, &rl)
	if len(rl.Items) != 2 || rl.Items[0].Count != 0 || rl.Items[1].Count != 3 || rl.Items[1].Average != 4 || rl.Items[1].Histogram != [5]int64{0, 0, 1, 1, 1} {
		t.Errorf("ratings: %+v", rl)
	}
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = fmt.Sprint("p", i)
	}
	f.wantProblem(call{method: "GET", path: "/api/v1/reviews/ratings?product_id=" + strings.Join(ids, ",")}, 422, "validation_failed")
}

// TestConcurrentCreates: two creates of a review of one order line at
// once make one review (201) and one 409 already_reviewed, never two
// reviews and never a 500: the UNIQUE key decides, on both engines.
func TestConcurrentCreates(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		for round := range 5 {
			id := fmt.Sprint("race-", round)
			f.delivered("default", order(id, "c-1", t0, "MUG-1"))
			var wg sync.WaitGroup
			statuses := make([]int, 2)
			codes := make([]string, 2)
			for i := range 2 {
				wg.Go(func() {
					status, b := f.do(t, call{method: "POST", path: "/api/v1/reviews", authz: customer(t, "c-1"),
						body: map[string]any{"order_id": id, "sku": "MUG-1", "rating": 4, "title": "race"}})
					statuses[i] = status
					if status != http.StatusCreated {
						codes[i] = string(b)
					}
				})
			}
			wg.Wait()
			created, conflict := 0, 0
			for i, s := range statuses {
				switch {
				case s == 201:
					created++
				case s == 409 && strings.Contains(codes[i], `"already_reviewed"`):
					conflict++
				default:
					t.Errorf("round %d: status %d: %s", round, s, codes[i])
				}
			}
			if created != 1 || conflict != 1 {
				t.Errorf("round %d: %d created, %d already_reviewed; want 1 and 1", round, created, conflict)
			}
		}
		if r := lastRating(t, db, "p-MUG-1"); r.Count != 5 {
			t.Errorf("rating count %d, want 5", r.Count)
		}
	}, Migrations...)
}

// TestAccess: staff of every role read reviews, support cannot moderate,
// only owners and managers change the settings; customers and anonymous
// callers reach no admin operation. The document says what the table says.
func TestAccess(t *testing.T) {
	f := newFixture(t, sqldbtest.Open(t, "", Migrations...), Config{})
	const settings = `{"moderation":"approve"}`
	webtest.CheckCalls(t, f.url, []webtest.Call{
		{Name: "support lists reviews", Method: "GET", Path: "/api/v1/admin/reviews", Authz: webtest.Staff(t, auth.RoleSupport), Want: 200},
		{Name: "support may not approve", Method: "POST", Path: "/api/v1/admin/reviews/r1/approve", Authz: webtest.Staff(t, auth.RoleSupport), Want: 403},
		{Name: "staff approve (an unknown review)", Method: "POST", Path: "/api/v1/admin/reviews/r1/approve", Authz: webtest.Staff(t, auth.RoleStaff), Want: 404},
		{Name: "staff may not change settings", Method: "PUT", Path: "/api/v1/admin/reviews/settings", Body: settings, Authz: webtest.Staff(t, auth.RoleStaff), Want: 403},
		{Name: "a manager changes settings", Method: "PUT", Path: "/api/v1/admin/reviews/settings", Body: settings, Authz: webtest.Staff(t, auth.RoleManager), Want: 200},
		{Name: "a customer lists no admin reviews", Method: "GET", Path: "/api/v1/admin/reviews", Authz: webtest.Customer(t), Want: 403},
		{Name: "anonymous lists no admin reviews", Method: "GET", Path: "/api/v1/admin/reviews", Want: 401},
		{Name: "anonymous reads ratings", Method: "GET", Path: "/api/v1/reviews/ratings?product_id=p1", Want: 200},
	})
	webtest.CheckDocumentedRoles(t, f.url, access)
	webtest.CheckDocument(t, f.url)
}

// TestHTTPRateLimit: past the write limit the answer is 429 rate_limited
// with Retry-After, the seconds until the oldest write leaves the window.
func TestHTTPRateLimit(t *testing.T) {
	f := newFixture(t, sqldbtest.Open(t, "", Migrations...), Config{WriteLimit: 1, WriteWindow: time.Hour})
	f.delivered("default", order("o1", "c-1", t0, "A", "B"))
	body := func(sku string) map[string]any {
		return map[string]any{"order_id": "o1", "sku": sku, "rating": 5, "title": "ok"}
	}
	f.want(call{method: "POST", path: "/api/v1/reviews", body: body("A"), authz: customer(t, "c-1")}, 201, nil)
	f.advance(10 * time.Minute)
	req, err := http.NewRequest("POST", f.url+"/api/v1/reviews", strings.NewReader(`{"order_id":"o1","sku":"B","rating":5,"title":"ok"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", customer(t, "c-1"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// 50 minutes left, less the milliseconds the fixture's clock ticked.
	if got := res.Header.Get("Retry-After"); res.StatusCode != 429 || got != "3000" {
		t.Errorf("status %d, Retry-After %q; want 429 and 3000", res.StatusCode, got)
	}
	f.wantProblem(call{method: "POST", path: "/api/v1/reviews", body: body("B"), authz: customer(t, "c-1")}, 429, "rate_limited")
}

// TestConcurrentWritesKeepTheLimit: two reviews of one author at once,
// with one write left, make one review (201) and one 429, on both engines:
// the author's row is locked before the count.
func TestConcurrentWritesKeepTheLimit(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{WriteLimit: 1, WriteWindow: time.Hour})
		for round := range 3 {
			author := fmt.Sprint("c-", round)
			id := fmt.Sprint("lim-", round)
			f.delivered("default", order(id, author, t0, "A", "B"))
			var wg sync.WaitGroup
			statuses := make([]int, 2)
			for i, sku := range []string{"A", "B"} {
				wg.Go(func() {
					statuses[i], _ = f.do(t, call{method: "POST", path: "/api/v1/reviews", authz: customer(t, author),
						body: map[string]any{"order_id": id, "sku": sku, "rating": 3, "title": "limit"}})
				})
			}
			wg.Wait()
			if !(statuses[0] == 201 && statuses[1] == 429 || statuses[0] == 429 && statuses[1] == 201) {
				t.Errorf("round %d: statuses %v, want one 201 and one 429", round, statuses)
			}
		}
	}, Migrations...)
}

// TestConcurrentRatings: reviews of one product written at once each
// announce the aggregate that includes every review committed before
// them: version n counts n reviews, on both engines.
func TestConcurrentRatings(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db, Config{})
		const n = 6
		for i := range n {
			f.delivered("default", order(fmt.Sprint("many-", i), fmt.Sprint("c-", i), t0, "MUG-1"))
		}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				status, b := f.do(t, call{method: "POST", path: "/api/v1/reviews", authz: customer(t, fmt.Sprint("c-", i)),
					body: map[string]any{"order_id": fmt.Sprint("many-", i), "sku": "MUG-1", "rating": i%5 + 1, "title": "many"}})
				if status != http.StatusCreated {
					t.Errorf("review %d: %d %s", i, status, b)
				}
			})
		}
		wg.Wait()
		seen := map[int64]bool{}
		for _, r := range events[reviewapi.RatingChanged](t, db, reviewapi.SubjectRatingChanged) {
			if r.Count != r.Version || seen[r.Version] {
				t.Errorf("event %+v: version %d should count %d reviews, once", r, r.Version, r.Version)
			}
			seen[r.Version] = true
		}
		if r := lastRating(t, db, "p-MUG-1"); len(seen) != n || r.Count != n {
			t.Errorf("%d events, last %+v; want %d", len(seen), r, n)
		}
	}, Migrations...)
}
