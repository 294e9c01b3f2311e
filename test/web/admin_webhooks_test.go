package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestAdminWebhooks walks the webhook pages: an owner is refused a
// private address, subscribes a receiver (the secret shown once, a reload
// making no second subscription), a product created in the store is
// delivered to it, signed, and shows in the log with its attempts; the
// owner replays it, disables, enables and deletes the subscription.
func TestAdminWebhooks(t *testing.T) {
	var hits atomic.Int32
	var sigs atomic.Value
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		sigs.Store(r.Header.Get("webhook-signature"))
		if hits.Add(1) == 1 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	// The receiver is on this machine: a private target only this flag
	// lets through. The first retry comes at once.
	p := start(t, "-notify.webhooks-allow-private", "-notify.webhooks-retry-base=10ms", "-notify.webhooks-retry-max=20ms")
	alpha := signupOwnedStore(t, p, "hooks")
	owner := newVisitor(t, p, alpha.host)
	signInAdminAs(t, owner, alpha.email, alpha.password)

	list := owner.get("/admin/webhooks")
	checkPage(t, "webhooks", list, 200, "No subscriptions yet", `href="/admin/webhooks"`, "catalog.product_created.v1")
	pg := owner.submit(list, "/admin/webhooks", url.Values{"url": {""}})
	checkPage(t, "empty form", pg, 422, `aria-describedby="e-url"`, `aria-describedby="e-event_types"`)

	form := hiddenFields(t, list.Body, "/admin/webhooks")
	form.Set("url", rcv.URL+"/in")
	form.Set("description", "ERP <import>")
	form["event_types"] = []string{"catalog.product_created.v1", "order.confirmed.v1"}
	pg = owner.post("/admin/webhooks", form)
	checkPage(t, "subscribe", pg, 200, "it is not shown again", "ERP &lt;import&gt;")
	secret := matchIn(t, "the secret", `id="new-webhook-secret" type="text" value="([^"]+)"`, pg.Body)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the secret shown is %q", secret)
	}
	pg = owner.post("/admin/webhooks", form)
	checkPage(t, "subscribe again", pg, 200, "This subscription was made already")
	checkLacks(t, "subscribe again", pg, secret)
	list = owner.get("/admin/webhooks")
	checkLacks(t, "the list", list, secret)
	if n := strings.Count(list.Body, `<tr id="webhook-`); n != 1 {
		t.Fatalf("%d subscriptions listed, want 1", n)
	}
	id := matchIn(t, "subscription link", `<a href="/admin/webhooks/([0-9a-f-]{36})">`, list.Body)

	res := p.Call("POST", "/api/v1/admin/products", map[string]any{"title": "Hooked mug", "status": "active",
		"variants": []map[string]any{{"sku": "HOOK-1", "price": map[string]any{"amount": 999, "currency": "EUR"}}}},
		map[string]string{"Host": alpha.host, "Authorization": "Bearer " + alpha.ownerToken})
	if res.Status != http.StatusCreated {
		t.Fatalf("create product: %d %s", res.Status, res.Body)
	}
	deadline := time.Now().Add(30 * time.Second)
	var sub page
	for {
		sub = owner.get("/admin/webhooks/" + id)
		if strings.Contains(sub.Body, "succeeded") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful delivery (%d requests):\n%.3000s", hits.Load(), sub.Body)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition, with a deadline
	}
	if s, _ := sigs.Load().(string); !strings.HasPrefix(s, "v1,") {
		t.Fatalf("the receiver got signature %q", s)
	}
	did := matchIn(t, "delivery link", `<a href="/admin/webhooks/deliveries/([0-9a-f-]{36})">`, sub.Body)
	d := owner.get("/admin/webhooks/deliveries/" + did)
	checkPage(t, "delivery", d, 200, "catalog.product_created.v1", "503", "204", "not yet", "Hooked mug")
	if n := strings.Count(d.Body, "<td class=\"num\">503</td>") + strings.Count(d.Body, "<td class=\"num\">204</td>"); n != 2 {
		t.Fatalf("%d attempts shown, want 2:\n%.3000s", n, d.Body)
	}
	pg = owner.submit(d, "/admin/webhooks/deliveries/"+did+"/replay", nil)
	checkPage(t, "replay", pg, 200, "queued to be sent again")
	waitHits := func(n int32) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for hits.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d requests, want %d", hits.Load(), n)
			}
			time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
		}
	}
	waitHits(3)

	waitSucceeded := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(owner.get("/admin/webhooks/deliveries/"+did).Body, `<span class="status">succeeded</span>`) {
			if time.Now().After(deadline) {
				t.Fatal("the replay did not finish")
			}
			time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
		}
	}
	// The receiver has answered; the worker records it a moment later.
	waitSucceeded()
	log := owner.get("/admin/webhooks/deliveries?status=succeeded")
	checkPage(t, "delivery log", log, 200, did)
	today := time.Now().UTC().Format(time.DateOnly)
	pg = owner.submit(log, "/admin/webhooks/replay", url.Values{"from": {today}, "to": {today}, "status": {""}, "subscription_id": {""}})
	checkPage(t, "replay a range", pg, 200, "1 delivery is queued to be sent again")
	waitHits(4)
	pg = owner.submit(log, "/admin/webhooks/replay", url.Values{"from": {"someday"}, "to": {today}})
	checkPage(t, "replay a bad range", pg, 422, `aria-describedby="e-from"`)

	sub = owner.get("/admin/webhooks/" + id)
	pg = owner.submit(sub, "/admin/webhooks/"+id+"/enabled", nil)
	checkPage(t, "disable", pg, 200, "The subscription is disabled", "Disabled")
	pg = owner.submit(pg, "/admin/webhooks/"+id+"/enabled", nil)
	checkPage(t, "enable", pg, 200, "enabled again")
	pg = owner.submit(pg, "/admin/webhooks/"+id, url.Values{"url": {"http://169.254.169.254/latest/"}, "event_types": {"order.shipped.v1"}})
	checkPage(t, "edit to a metadata address", pg, 422, `aria-describedby="e-url"`, "not allowed")
	pg = owner.submit(owner.get("/admin/webhooks/"+id), "/admin/webhooks/"+id+"/delete", nil)
	checkPage(t, "delete", pg, 200, "The subscription is deleted", "No subscriptions yet")
	checkPage(t, "deleted subscription", owner.get("/admin/webhooks/"+id), 404)
}
