package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// sse is an open Server-Sent Events stream, its events read as they come.
type sse struct {
	t      *testing.T
	status int
	events chan sseEvent
	ended  chan struct{} // closed when the stream ends
}

type sseEvent struct {
	ID, Name string
	Data     map[string]string
}

// stream opens path as v (its cookies, its Host) with EventSource's
// headers; the stream is closed when the test ends.
func (v *visitor) stream(path, lastID string) *sse {
	v.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	v.t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.p.URL+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Host = v.host
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := v.hc.Do(req)
	if err != nil {
		v.t.Fatalf("GET %s: %v", path, err)
	}
	s := &sse{t: v.t, status: resp.StatusCode, events: make(chan sseEvent, 100), ended: make(chan struct{})}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		cancel()
		close(s.ended)
		return s
	}
	go func() {
		defer close(s.ended)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &ev.Data)
			}
		}
	}()
	return s
}

// until returns the events up to the first that done accepts, failing
// after 20 s.
func (s *sse) until(what string, done func(sseEvent) bool) []sseEvent {
	s.t.Helper()
	var got []sseEvent
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-s.events:
			got = append(got, e)
			if done(e) {
				return got
			}
		case <-deadline:
			s.t.Fatalf("%s: not within 20s; got %+v", what, got)
		}
	}
}

// quiet fails if an event arrives within d.
func (s *sse) quiet(what string, d time.Duration) {
	s.t.Helper()
	select {
	case e := <-s.events:
		s.t.Errorf("%s: got %+v", what, e)
	case <-time.After(d):
	}
}

// TestLiveUpdates: an order page's stream is only for whoever may see the
// order and carries only that order's changes; the admin's stream brings
// new orders to its own store's staff only.
func TestLiveUpdates(t *testing.T) {
	s := openAdminOrdersShop(t)
	id1, tok1, _ := s.order()
	id2, tok2, _ := s.order()
	other := signupOwnedStore(t, s.p, "elsewhere")

	guest := newVisitor(t, s.p, "localhost")
	events1 := "/orders/" + id1 + "/events?token=" + url.QueryEscape(tok1)
	if pg := guest.get("/orders/" + id1 + "?token=" + url.QueryEscape(tok1)); pg.Status != http.StatusOK || !strings.Contains(pg.Body, `data-live-order="`+strings.ReplaceAll(events1, "&", "&amp;")) {
		t.Fatalf("order page without its stream's address: %d\n%.3000s", pg.Status, pg.Body)
	}
	for what, path := range map[string]string{
		"a wrong token":           "/orders/" + id1 + "/events?token=" + url.QueryEscape(tok2),
		"no token, not signed in": "/orders/" + id1 + "/events",
		"an unknown order":        "/orders/no-such-order/events?token=" + url.QueryEscape(tok1),
	} {
		if st := guest.stream(path, ""); st.status != http.StatusNotFound {
			t.Errorf("order stream with %s: %d, want 404", what, st.status)
		}
	}
	// The right order and token at another store's host: not there.
	if st := newVisitor(t, s.p, other.host).stream(events1, ""); st.status != http.StatusNotFound {
		t.Errorf("order stream at another store's host: %d, want 404", st.status)
	}
	if st := newVisitor(t, s.p, "localhost").stream("/admin/events", ""); st.status != http.StatusUnauthorized {
		t.Errorf("admin stream for a guest: %d, want 401", st.status)
	}

	order1 := guest.stream(events1, "")
	owner := s.signIn("owner@orders.test")
	notices := owner.stream("/admin/events", "")
	otherOwner := newVisitor(t, s.p, other.host)
	signInAdminAs(t, otherOwner, other.email, other.password)
	otherNotices := otherOwner.stream("/admin/events", "")
	for what, st := range map[string]*sse{"order": order1, "admin": notices, "other store's admin": otherNotices} {
		if st.status != http.StatusOK {
			t.Fatalf("%s stream: %d", what, st.status)
		}
	}

	ship := func(id, tracking string) {
		t.Helper()
		r := s.api("POST", "/api/v1/admin/orders/"+id+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": tracking}, s.ownerToken,
			"Idempotency-Key", "live-ship-"+tracking)
		if r.Status != http.StatusOK && r.Status != http.StatusCreated {
			t.Fatalf("ship %s: %d %s", id, r.Status, r.Body)
		}
	}
	// The other order ships first: its events must not reach order 1's page.
	ship(id2, "LIVE-2")
	ship(id1, "LIVE-1")
	got := order1.until("order 1 shipped", func(e sseEvent) bool { return e.Name == "order.shipped.v1" })
	for _, e := range got {
		if e.Data["order_id"] != id1 {
			t.Errorf("order 1's stream got an event of %q: %+v", e.Data["order_id"], e)
		}
	}
	if last := got[len(got)-1]; last.Data["status"] != "shipped" || last.Data["label"] != "Shipped" || last.ID == "" {
		t.Errorf("shipped event: %+v", last)
	}
	// Resuming from before the shipment replays what followed it.
	if len(got) > 1 {
		again := guest.stream(events1, got[0].ID)
		if re := again.until("the replay", func(e sseEvent) bool { return e.ID == got[len(got)-1].ID }); re[0].ID != got[1].ID {
			t.Errorf("resumed after %s: %+v, want from %s", got[0].ID, re, got[1].ID)
		}
	}

	// A new order: a notice for this store's owner, none for the other's.
	id3, _, _ := s.order()
	n := notices.until("the new order's notice", func(e sseEvent) bool {
		return e.Name == "order.confirmed.v1" && strings.HasSuffix(e.Data["href"], id3)
	})
	if last := n[len(n)-1]; !strings.Contains(last.Data["text"], "New order") {
		t.Errorf("notice %+v", last)
	}
	otherNotices.quiet("the other store's admin", 500*time.Millisecond)

	// Shutting down with streams open: they end, and the process stops
	// well before the drain's 20 s bound.
	began := time.Now()
	s.p.Stop()
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("stopping with open streams took %s", d)
	}
	for what, st := range map[string]*sse{"order": order1, "admin": notices} {
		select {
		case <-st.ended:
		case <-time.After(5 * time.Second):
			t.Errorf("the %s stream outlived the process", what)
		}
	}
}

// TestLiveOrderOfACustomer: a signed-in customer follows their own order
// without its token; another customer, signed in, may not.
func TestLiveOrderOfACustomer(t *testing.T) {
	p := start(t)
	sku := skuInStock(t, p, 10)
	const password = "cobol forever and a day"
	register := func(email string) (token string) {
		t.Helper()
		r := p.Call(http.MethodPost, "/api/v1/auth/register", map[string]string{"email": email, "password": password, "name": "Live " + email},
			map[string]string{"Host": "localhost"})
		if r.Status >= 300 {
			t.Fatalf("register %s: %d %s", email, r.Status, r.Body)
		}
		r = p.Call(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": password}, map[string]string{"Host": "localhost"})
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		r.JSON(t, &tok)
		return tok.AccessToken
	}
	signIn := func(email string) *visitor {
		t.Helper()
		v := newVisitor(t, p, "localhost")
		if pg := v.submit(v.get("/account/sign-in"), "/account/sign-in", url.Values{"email": {email}, "password": {password}}); pg.URL != "/account" {
			t.Fatalf("sign in as %s: ended at %s", email, pg.URL)
		}
		return v
	}
	token := register("grace@example.com")
	register("alan@example.com")
	body := map[string]any{
		"items": []map[string]any{{"sku": sku, "quantity": 1}},
		"email": "grace@example.com",
		"shipping_address": map[string]any{
			"name": "Grace Hopper", "line1": "1 Harvard Yard", "city": "Cambridge", "postal_code": "02138", "country": "US",
		},
		"payment": map[string]any{"provider": "fake", "token": "tok_visa"},
	}
	r := p.Call(http.MethodPost, "/api/v1/checkout", body, map[string]string{"Host": "localhost", "Authorization": "Bearer " + token, "Idempotency-Key": "live-customer-1"})
	var o struct{ ID string }
	r.JSON(t, &o)
	if r.Status != http.StatusCreated || o.ID == "" {
		t.Fatalf("checkout as a customer: %d %s", r.Status, r.Body)
	}
	path := "/orders/" + o.ID + "/events"
	if st := signIn("alan@example.com").stream(path, ""); st.status != http.StatusNotFound {
		t.Errorf("another customer's stream of the order: %d, want 404", st.status)
	}
	if st := signIn("grace@example.com").stream(path, ""); st.status != http.StatusOK {
		t.Errorf("the customer's stream of their order: %d, want 200", st.status)
	}
}
