package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestReviewFlow: a guest's order is shipped and delivered; its page
// offers "Review this item"; the form keeps what was typed and marks a
// missing title; the review is published (HTML shown as text) on the
// product page with its rating and histogram and on the category card;
// the owner hides it with a reason (a missing reason is marked), replies,
// and sets reviews to need approval; the buyer edits the review (which then
// waits for approval) and deletes it; support reads reviews but may not
// moderate (the 403 page).
func TestReviewFlow(t *testing.T) {
	t.Parallel()
	s := openAdminOrdersShop(t)
	id, token, sku := s.order()

	// Ship and deliver, with the API.
	var shipped struct {
		Shipments []struct {
			ID string `json:"id"`
		} `json:"shipments"`
	}
	r := s.api("POST", "/api/v1/admin/orders/"+id+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "RV1"}, s.ownerToken)
	r.JSON(t, &shipped)
	if len(shipped.Shipments) != 1 {
		t.Fatalf("ship: %d %s", r.Status, r.Body)
	}
	r = s.api("POST", "/api/v1/admin/orders/"+id+"/shipments/"+shipped.Shipments[0].ID+"/events", map[string]any{"status": "delivered"}, s.ownerToken)
	if r.Status != http.StatusOK {
		t.Fatalf("deliver: %d %s", r.Status, r.Body)
	}

	// A visitor without a session is served the shared guest page: it is
	// rendered again once the review database commits for the store.
	slug, category := productOf(t, s, sku)
	anon := newVisitor(t, s.p, "localhost")
	if pp := anon.get("/p/" + slug); pp.Status != http.StatusOK || !strings.Contains(pp.Body, `id="no-reviews"`) {
		t.Fatalf("the product page before any review: %d", pp.Status)
	}

	guest := newVisitor(t, s.p, "localhost")
	orderPath := "/orders/" + id + "?token=" + url.QueryEscape(token)
	var op page
	s.waitFor("the order page offers a review", func() (bool, string) {
		op = guest.get(orderPath)
		return strings.Contains(op.Body, "Review this item"), op.Body
	})
	link := regexp.MustCompile(`href="(/orders/[^"]+/review\?[^"]+)">Review this item`).FindStringSubmatch(op.Body)
	if link == nil {
		t.Fatalf("no review link:\n%.3000s", op.Body)
	}
	form := guest.get(htmlUnescape(link[1]))
	if form.Status != http.StatusOK || !strings.Contains(form.Body, `id="review-form"`) {
		t.Fatalf("review form: %d\n%.2000s", form.Status, form.Body)
	}
	action := "/orders/" + id + "/review"
	bad := guest.submit(form, action, url.Values{"rating": {"4"}, "body": {"Keeps <tea> hot"}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `id="e-title"`) || !strings.Contains(bad.Body, "Keeps &lt;tea&gt; hot") {
		t.Fatalf("review without a title: %d\n%.3000s", bad.Status, bad.Body)
	}
	// The review service learns of the delivery from the order's events:
	// until then it answers not_delivered, which the form shows.
	var done page
	s.waitFor("the review is accepted", func() (bool, string) {
		done = guest.submit(form, action, url.Values{"rating": {"4"}, "title": {"<b>Great</b> mug"}, "body": {"Keeps <tea> hot"}})
		return done.Status == http.StatusOK && strings.Contains(done.Body, "Thank you for your review."), done.Body
	})
	if !strings.HasPrefix(done.URL, "/orders/"+id) || !strings.Contains(done.Body, "Your review:") || strings.Contains(done.Body, "Review this item") {
		t.Errorf("the order page after the review: %s\n%.3000s", done.URL, done.Body)
	}
	// The same form sent again (a double click) makes no second review.
	if again := guest.submit(form, action, url.Values{"rating": {"4"}, "title": {"<b>Great</b> mug"}}); again.Status != http.StatusOK {
		t.Errorf("the review form sent again: %d", again.Status)
	}

	// The product page and the category card.
	if pp := anon.get("/p/" + slug); !strings.Contains(pp.Body, "&lt;b&gt;Great&lt;/b&gt; mug") {
		t.Errorf("the shared guest page does not show the new review")
	}
	pp := guest.get("/p/" + slug)
	for _, want := range []string{`id="reviews"`, "4.0 out of 5", "1 review", "&lt;b&gt;Great&lt;/b&gt; mug", "Keeps &lt;tea&gt; hot", "<meter", "Ada L."} {
		if !strings.Contains(pp.Body, want) {
			t.Errorf("product page lacks %q", want)
		}
	}
	if strings.Contains(pp.Body, "<b>Great</b>") {
		t.Error("the review's HTML is not escaped")
	}
	if all := guest.get("/p/" + slug + "/reviews"); all.Status != http.StatusOK || !strings.Contains(all.Body, "&lt;b&gt;Great&lt;/b&gt; mug") ||
		!strings.Contains(all.Body, "4.0 out of 5") {
		t.Errorf("the product's reviews page: %d", all.Status)
	}
	if none := guest.get("/p/no-such-product/reviews"); none.Status != http.StatusNotFound {
		t.Errorf("reviews of an unknown product: %d", none.Status)
	}
	if category == "" {
		t.Fatalf("the demo product %s has no category", slug)
	}
	// The product's card, on whichever page of its category it is.
	card := regexp.MustCompile(`(?s)<a class="product-card" href="/p/` + regexp.QuoteMeta(slug) + `">(.*?)</a>`)
	next := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	path, found := "/c/"+category, ""
	for range 10 {
		cp := guest.get(path)
		if m := card.FindStringSubmatch(cp.Body); m != nil {
			found = m[1]
			break
		}
		n := next.FindStringSubmatch(cp.Body)
		if n == nil {
			break
		}
		path = htmlUnescape(n[1])
	}
	if !strings.Contains(found, `class="card-rating small"><span aria-hidden="true">★</span> 4.0 out of 5 · 1 review`) {
		t.Errorf("the category card of %s shows no rating: %q", slug, found)
	}

	// The owner hides it with a reason and replies.
	var mine struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	s.api("GET", "/api/v1/reviews/orders/"+id+"?token="+url.QueryEscape(token), nil, "").JSON(t, &mine)
	if len(mine.Items) != 1 {
		t.Fatalf("the order's reviews: %+v", mine)
	}
	rid := mine.Items[0].ID
	owner := s.signIn("owner@orders.test")
	list := owner.get("/admin/reviews?status=published")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, `id="review-`+rid+`"`) || !strings.Contains(list.Body, `href="/admin/reviews"`) {
		t.Fatalf("admin review list: %d\n%.3000s", list.Status, list.Body)
	}
	if !regexp.MustCompile(`<a href="/admin/products/[^"]+">[^<]+</a> \(` + regexp.QuoteMeta(sku) + `\)`).MatchString(list.Body) {
		t.Errorf("the admin review list does not name the product")
	}
	rp := owner.get("/admin/reviews/" + rid)
	if rp.Status != http.StatusOK || !strings.Contains(rp.Body, `id="hide-review"`) || strings.Contains(rp.Body, `id="approve-review"`) {
		t.Fatalf("admin review page: %d\n%.3000s", rp.Status, rp.Body)
	}
	if nr := owner.submit(rp, "/admin/reviews/"+rid+"/hide", url.Values{"reason": {" "}}); nr.Status != http.StatusUnprocessableEntity || !strings.Contains(nr.Body, `id="e-reason"`) {
		t.Errorf("hide without a reason: %d", nr.Status)
	}
	hidden := owner.submit(rp, "/admin/reviews/"+rid+"/hide", url.Values{"reason": {"Mentions a competitor"}})
	if hidden.Status != http.StatusOK || !strings.Contains(hidden.Body, "The review is hidden.") || !strings.Contains(hidden.Body, "Mentions a competitor") {
		t.Fatalf("hide: %d\n%.3000s", hidden.Status, hidden.Body)
	}
	if pp := guest.get("/p/" + slug); strings.Contains(pp.Body, "Great") || !strings.Contains(pp.Body, `id="no-reviews"`) {
		t.Errorf("the hidden review still shows on the product page")
	}
	if op := guest.get(orderPath); !strings.Contains(op.Body, "Hidden by the store (Mentions a competitor)") {
		t.Errorf("the buyer does not see why the review is hidden:\n%.3000s", op.Body)
	}
	approved := owner.submit(hidden, "/admin/reviews/"+rid+"/approve", nil)
	if approved.Status != http.StatusOK || !strings.Contains(approved.Body, "The review is published.") {
		t.Errorf("approve again: %d", approved.Status)
	}
	replied := owner.submit(approved, "/admin/reviews/"+rid+"/reply", url.Values{"reply": {"Thank you, Ada!"}})
	if replied.Status != http.StatusOK || !strings.Contains(replied.Body, "Your reply is saved.") {
		t.Errorf("reply: %d", replied.Status)
	}
	if pp := guest.get("/p/" + slug); !strings.Contains(pp.Body, "Thank you, Ada!") || !strings.Contains(pp.Body, "Reply from") {
		t.Errorf("the product page lacks the reply")
	}
	set := owner.submit(owner.get("/admin/reviews"), "/admin/reviews/settings", url.Values{"moderation": {"approve"}})
	if set.Status != http.StatusOK || !strings.Contains(set.Body, "Review settings saved.") {
		t.Errorf("settings: %d", set.Status)
	}
	var settings struct {
		Moderation string `json:"moderation"`
	}
	s.api("GET", "/api/v1/admin/reviews/settings", nil, s.ownerToken).JSON(t, &settings)
	if settings.Moderation != "approve" {
		t.Errorf("moderation %q after saving approve", settings.Moderation)
	}

	// Support reads, never moderates.
	support := s.signIn(s.invite("support"))
	sp := support.get("/admin/reviews/" + rid)
	if sp.Status != http.StatusOK || strings.Contains(sp.Body, `id="hide-review"`) || strings.Contains(sp.Body, `id="reply-review"`) {
		t.Errorf("support's review page: %d", sp.Status)
	}
	forced := support.post("/admin/reviews/"+rid+"/hide", url.Values{"reason": {"x"}, "idempotency_key": {"support-forced-hide"}})
	if forced.Status != http.StatusForbidden || !strings.Contains(forced.Body, "<html") {
		t.Errorf("support's forced hide: %d", forced.Status)
	}
	if pg := owner.get("/admin/reviews/no-such-review"); pg.Status != http.StatusNotFound {
		t.Errorf("unknown review: %d", pg.Status)
	}

	// The buyer edits the review from the order page: in a store that now
	// approves reviews first, the edit waits for approval; then deletes it,
	// and the line may be reviewed again.
	op = guest.get(orderPath)
	edit := regexp.MustCompile(`href="(/orders/[^"]+/review\?[^"]+)">Edit<span`).FindStringSubmatch(op.Body)
	if edit == nil {
		t.Fatalf("no edit link on the order page:\n%.3000s", op.Body)
	}
	ef := guest.get(htmlUnescape(edit[1]))
	if ef.Status != http.StatusOK || !strings.Contains(ef.Body, `name="review_id" value="`+rid+`"`) || !strings.Contains(ef.Body, `value="&lt;b&gt;Great&lt;/b&gt; mug"`) {
		t.Fatalf("the edit form: %d\n%.3000s", ef.Status, ef.Body)
	}
	edited := guest.submit(ef, action, url.Values{"rating": {"2"}, "title": {"Chipped"}})
	if edited.Status != http.StatusOK || !strings.Contains(edited.Body, "Your review is updated. It will appear once the store has approved it.") ||
		!strings.Contains(edited.Body, "Awaiting approval") {
		t.Errorf("edit: %d\n%.3000s", edited.Status, edited.Body)
	}
	if pp := anon.get("/p/" + slug); strings.Contains(pp.Body, "Chipped") || !strings.Contains(pp.Body, `id="no-reviews"`) {
		t.Errorf("a pending edit shows on the product page")
	}
	ef = guest.get(htmlUnescape(edit[1]))
	deleted := guest.submit(ef, "/orders/"+id+"/review/delete", nil)
	if deleted.Status != http.StatusOK || !strings.Contains(deleted.Body, "Your review is deleted.") || !strings.Contains(deleted.Body, "Review this item") {
		t.Errorf("delete: %d\n%.3000s", deleted.Status, deleted.Body)
	}
}

// productOf finds the slug of the demo product selling sku, and the slug
// of its category ("" when it has none).
func productOf(t *testing.T, s *adminOrdersShop, sku string) (slug, category string) {
	t.Helper()
	var products struct {
		Items []struct {
			Slug       string `json:"slug"`
			CategoryID string `json:"category_id"`
			Variants   []struct {
				SKU string `json:"sku"`
			} `json:"variants"`
		} `json:"items"`
	}
	s.api("GET", "/api/v1/products?limit=100", nil, "").JSON(t, &products)
	var catID string
	for _, p := range products.Items {
		for _, v := range p.Variants {
			if v.SKU == sku {
				slug, catID = p.Slug, p.CategoryID
			}
		}
	}
	if slug == "" {
		t.Fatalf("no product sells %s", sku)
	}
	var tree struct {
		Items []json.RawMessage `json:"items"`
	}
	r := s.api("GET", "/api/v1/categories", nil, "")
	r.JSON(t, &tree)
	// The tree nests; any category whose id matches gives the slug.
	m := regexp.MustCompile(`"id":"` + regexp.QuoteMeta(catID) + `"[^{}]*?"slug":"([^"]+)"`).FindSubmatch(r.Body)
	if catID != "" && m != nil {
		category = string(m[1])
	}
	return slug, category
}

// TestCustomerReviewsClaimedOrder: a guest's delivered order is given to the
// account registered with its email once the address is verified (the
// order and review services each apply the verification), and the
// signed-in customer reviews it from the order's page without its token.
func TestCustomerReviewsClaimedOrder(t *testing.T) {
	t.Parallel()
	p, mail := startWithMailbox(t)
	s := adminOrdersShopOn(t, p)
	id, _, _ := s.order() // a guest's, ada@example.com
	var shipped struct {
		Shipments []struct {
			ID string `json:"id"`
		} `json:"shipments"`
	}
	s.api("POST", "/api/v1/admin/orders/"+id+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "RV2"}, s.ownerToken).JSON(t, &shipped)
	if len(shipped.Shipments) != 1 {
		t.Fatal("ship: no shipment")
	}
	if r := s.api("POST", "/api/v1/admin/orders/"+id+"/shipments/"+shipped.Shipments[0].ID+"/events", map[string]any{"status": "delivered"}, s.ownerToken); r.Status != http.StatusOK {
		t.Fatalf("deliver: %d %s", r.Status, r.Body)
	}

	ada := newVisitor(t, s.p, "localhost")
	reg := ada.get("/account/register")
	acct := ada.submit(reg, "/account/register", url.Values{"name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "password": {"analytical engine notes"}})
	if acct.URL != "/account" || acct.Status != http.StatusOK {
		t.Fatalf("register: %d at %s", acct.Status, acct.URL)
	}
	tok := mail.token("identity.email_verification_requested.v1", "ada@example.com", 1)
	if pg := ada.submit(ada.get("/account/verify-email?token="+url.QueryEscape(tok)), "/account/verify-email", nil); !strings.Contains(pg.Body, `id="verified"`) {
		t.Fatalf("verify: %d\n%s", pg.Status, pg.Body)
	}
	orderPath := "/orders/" + id
	var op page
	s.waitFor("the claimed order offers a review to its customer", func() (bool, string) {
		op = ada.get(orderPath)
		return strings.Contains(op.Body, "Review this item"), op.Body
	})
	link := regexp.MustCompile(`href="(/orders/[^"]+/review\?[^"]+)">Review this item`).FindStringSubmatch(op.Body)
	if link == nil || strings.Contains(link[1], "token=") {
		t.Fatalf("the customer's review link: %v", link)
	}
	form := ada.get(htmlUnescape(link[1]))
	done := ada.submit(form, "/orders/"+id+"/review", url.Values{"rating": {"5"}, "title": {"Works"}})
	if done.Status != http.StatusOK || done.URL != orderPath || !strings.Contains(done.Body, "Thank you for your review.") || !strings.Contains(done.Body, "Your review:") {
		t.Fatalf("the customer's review: %d at %s\n%.3000s", done.Status, done.URL, done.Body)
	}
	// A visitor who is not the buyer gets no form, whatever the link.
	other := newVisitor(t, s.p, "localhost")
	if pg := other.get(htmlUnescape(link[1])); pg.Status != http.StatusNotFound {
		t.Errorf("a stranger at the review form: %d at %s", pg.Status, pg.URL)
	}
}
