package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/test/harness"
)

// ownedStore is a store signed up through the API, with its owner's
// sign-in.
type ownedStore struct {
	host, email, password, ownerToken string
}

// signupOwnedStore opens a store at <sub>.localhost with an owner.
func signupOwnedStore(t *testing.T, p *harness.Proc, sub string) ownedStore {
	t.Helper()
	s := ownedStore{email: "owner@" + sub + ".test", password: "correct horse battery staple"}
	r := p.Call("POST", "/api/v1/tenants", map[string]any{"store_name": sub + " shop", "subdomain": sub, "email": s.email,
		"password": s.password, "owner_name": "Olive " + sub}, map[string]string{"Idempotency-Key": "signup-" + sub})
	if r.Status != http.StatusCreated {
		t.Fatalf("signup %s: %d %s", sub, r.Status, r.Body)
	}
	var out struct {
		Store struct {
			Hosts []string `json:"hosts"`
		} `json:"store"`
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &out)
	s.host, s.ownerToken = out.Store.Hosts[0], out.AccessToken
	return s
}

// signInAdminAs signs v in to the admin of its store.
func signInAdminAs(t *testing.T, v *visitor, email, password string) {
	t.Helper()
	pg := v.get("/admin/sign-in")
	pg = v.submit(pg, "/admin/sign-in", url.Values{"email": {email}, "password": {password}})
	if pg.Status != http.StatusOK || !strings.HasPrefix(pg.URL, "/admin/") || strings.HasPrefix(pg.URL, "/admin/sign-in") {
		t.Fatalf("sign in as %s: %d at %s\n%.2000s", email, pg.Status, pg.URL, pg.Body)
	}
}

// checkPage fails the test unless pg has status and contains every want.
func checkPage(t *testing.T, what string, pg page, status int, want ...string) {
	t.Helper()
	if pg.Status != status {
		t.Fatalf("%s: status %d, want %d (at %s)\n%.3000s", what, pg.Status, status, pg.URL, pg.Body)
	}
	for _, w := range want {
		if !strings.Contains(pg.Body, w) {
			t.Fatalf("%s: the page lacks %q (at %s)\n%.3000s", what, w, pg.URL, pg.Body)
		}
	}
}

// checkLacks fails the test if pg contains any of unwanted.
func checkLacks(t *testing.T, what string, pg page, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(pg.Body, u) {
			t.Fatalf("%s: the page has %q (at %s)\n%.3000s", what, u, pg.URL, pg.Body)
		}
	}
}

// matchIn returns the first group of re in s, failing the test without one.
func matchIn(t *testing.T, what, re, s string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s: no match for %s in\n%.3000s", what, re, s)
	}
	return htmlUnescape(m[1])
}

// TestAdminStaff walks the staff pages: an owner invites a support member
// (bad input first), who accepts through the API, signs in and sees only
// their sections; the owner gives both of them employee records, plans and
// moves a shift, publishes an announcement the member reads; the member
// checks in and out; the attendance report shows them.
func TestAdminStaff(t *testing.T) {
	p := start(t)
	alpha := signupOwnedStore(t, p, "alpha")
	owner := newVisitor(t, p, alpha.host)
	signInAdminAs(t, owner, alpha.email, alpha.password)

	staff := owner.get("/admin/staff")
	checkPage(t, "staff page", staff, 200, "Staff accounts", alpha.email, `action="/admin/staff/invitations"`, "Emails are not sent yet")

	// A missing email is marked, what was typed kept.
	pg := owner.submit(staff, "/admin/staff/invitations", url.Values{"email": {""}, "name": {"Sam Support"}, "role": {"support"}})
	checkPage(t, "invite without email", pg, 422, `id="f-email"`, `aria-invalid="true" aria-describedby="e-email"`, `value="Sam Support"`)

	invite := url.Values{"email": {"sam@alpha.test"}, "name": {"Sam Support"}, "role": {"support"}}
	form := hiddenFields(t, staff.Body, "/admin/staff/invitations")
	for k, v := range invite {
		form[k] = v
	}
	pg = owner.post("/admin/staff/invitations", form)
	checkPage(t, "invite", pg, 200, "Invitation for sam@alpha.test", "It is shown only now", "/admin/invitations/accept?token=")
	token := matchIn(t, "invitation token", `id="invite-token">([^<]+)<`, pg.Body)
	// The same form sent again makes no second invitation.
	pg = owner.post("/admin/staff/invitations", form)
	checkPage(t, "invite again", pg, 200, "This invitation was made already")
	checkLacks(t, "invite again", pg, token)

	// The invitation link opens the accept page with its token.
	guest := newVisitor(t, p, alpha.host)
	checkPage(t, "accept page", guest.get("/admin/invitations/accept?token="+url.QueryEscape(token)), 200, `value="`+token+`"`, "Create my account")

	r := p.Call("POST", "/api/v1/staff/invitations/accept", map[string]string{"token": token, "name": "Sam Support", "password": "another horse battery staple"},
		map[string]string{"Host": alpha.host})
	if r.Status != http.StatusCreated {
		t.Fatalf("accept the invitation: %d %s", r.Status, r.Body)
	}
	var accepted struct {
		Staff struct {
			ID string `json:"id"`
		} `json:"staff"`
	}
	r.JSON(t, &accepted)

	// The member signs in and sees only their sections.
	sam := newVisitor(t, p, alpha.host)
	signInAdminAs(t, sam, "sam@alpha.test", "another horse battery staple")
	samStaff := sam.get("/admin/staff")
	checkPage(t, "support's staff page", samStaff, 200, "Your attendance", "no employee record", `href="/admin/orders"`)
	checkLacks(t, "support's staff page", samStaff, "Staff accounts", `action="/admin/staff/invitations"`, `href="/admin/api-keys"`,
		`href="/admin/settings"`, `href="/admin/discounts"`, `href="/admin/staff/shifts"`)
	checkPage(t, "support's API keys", sam.get("/admin/api-keys"), 403, "<html")
	checkPage(t, "support's shifts", sam.get("/admin/staff/shifts"), 403, "<html")
	pg = sam.post("/admin/staff/check-in", url.Values{})
	checkPage(t, "support checks in without an employee record", pg, 200, "has no employee record yet")

	// The owner makes employees of both accounts.
	staff = owner.get("/admin/staff")
	checkPage(t, "staff page with Sam", staff, 200, "sam@alpha.test", `action="/admin/staff/accounts/`+accepted.Staff.ID+`/employee"`)
	pg = owner.submit(staff, "/admin/staff/accounts/"+accepted.Staff.ID+"/employee", nil)
	checkPage(t, "employ Sam", pg, 200, "Sam Support is an employee now")
	ownerID := matchIn(t, "owner's account", `action="/admin/staff/accounts/([^/"]+)/employee"`, pg.Body)
	pg = owner.submit(pg, "/admin/staff/accounts/"+ownerID+"/employee", nil)
	checkPage(t, "employ the owner", pg, 200, "is an employee now")
	checkLacks(t, "everyone employed", pg, `/employee"`)
	// A free-form employee without a name is refused, the email kept.
	pg = owner.submit(pg, "/admin/staff/employees", url.Values{"employee_name": {""}, "employee_email": {"x@alpha.test"}, "employee_role": {"staff"}})
	checkPage(t, "employee without a name", pg, 422, `aria-describedby="e-employee_name"`, `value="x@alpha.test"`)

	// Sam checks in; the same form again (its Idempotency-Key) answers
	// the first outcome; then out.
	samStaff = sam.get("/admin/staff")
	checkPage(t, "Sam not in", samStaff, 200, "Not checked in", `action="/admin/staff/check-in"`)
	checkIn := hiddenFields(t, samStaff.Body, "/admin/staff/check-in")
	pg = sam.post("/admin/staff/check-in", checkIn)
	checkPage(t, "check in", pg, 200, "You are checked in.", "Checked in</span> since", `action="/admin/staff/check-out"`)
	pg = sam.post("/admin/staff/check-in", checkIn)
	checkPage(t, "check in again", pg, 200, "You are checked in.")
	pg = sam.submit(pg, "/admin/staff/check-out", nil)
	checkPage(t, "check out", pg, 200, "You are checked out.", "Not checked in")

	// Shifts: a bad time is marked; a shift is planned, refused when it
	// overlaps, moved and deleted; an unknown one is a styled 404.
	week := time.Now().UTC()
	day := week.Format("2006-01-02")
	shifts := owner.get("/admin/staff/shifts?week=" + day)
	checkPage(t, "shifts", shifts, 200, "Plan a shift", "Sam Support")
	samEmp := matchIn(t, "Sam's employee", `<option value="([^"]+)"[^>]*>Sam Support</option>`, shifts.Body)
	pg = owner.submit(shifts, "/admin/staff/shifts", url.Values{"employee_id": {samEmp}, "day": {day}, "start": {"9am"}, "end": {"17:00"}, "note": {"till"}})
	checkPage(t, "shift with a bad time", pg, 422, `aria-describedby="e-start"`, `value="9am"`, `value="till"`)
	plan := url.Values{"employee_id": {samEmp}, "day": {day}, "start": {"09:00"}, "end": {"17:00"}, "note": {"till <3"}}
	pg = owner.submit(shifts, "/admin/staff/shifts", plan)
	checkPage(t, "plan a shift", pg, 200, "The shift is planned.", "Sam Support", "09:00", "17:00", "till &lt;3")
	plan.Set("start", "16:00")
	plan.Set("end", "20:00")
	pg = owner.submit(pg, "/admin/staff/shifts", plan)
	checkPage(t, "overlapping shift", pg, 422, "overlaps another shift", `value="16:00"`)
	edit := matchIn(t, "shift link", `href="(/admin/staff/shifts/[^"?]+)"`, owner.get("/admin/staff/shifts?week="+day).Body)
	pg = owner.get(edit)
	checkPage(t, "shift page", pg, 200, "Sam Support's shift", "Move shift")
	pg = owner.submit(pg, edit, url.Values{"day": {day}, "start": {"22:00"}, "end": {"06:00"}, "note": {"night"}})
	checkPage(t, "move the shift", pg, 200, "The shift is moved.", "22:00", "(next day)", "night")
	pg = owner.submit(owner.get(edit), edit+"/delete", nil)
	checkPage(t, "delete the shift", pg, 200, "The shift is deleted.")
	checkLacks(t, "deleted shift", pg, edit)
	checkPage(t, "unknown shift", owner.get("/admin/staff/shifts/7d1f7c8e-0000-4000-8000-000000000000"), 404, "Page not found")
	checkPage(t, "bad week", owner.get("/admin/staff/shifts?week=someday"), 404, "Page not found")
	checkPage(t, "bad page of employees", owner.get("/admin/staff?cursor=bogus"), 404, "Page not found")
	checkPage(t, "bad page of announcements", owner.get("/admin/staff/announcements?cursor=bogus"), 404, "Page not found")

	// An announcement to support: Sam reads it; the receipts tell.
	ann := owner.get("/admin/staff/announcements")
	pg = owner.submit(ann, "/admin/staff/announcements", url.Values{"title": {""}, "body": {"Inventory count on Friday"}, "audience": {"support"}})
	checkPage(t, "announcement without a title", pg, 422, `aria-describedby="e-title"`, "Inventory count on Friday")
	pg = owner.submit(ann, "/admin/staff/announcements", url.Values{"title": {"Count <Friday>"}, "body": {"Inventory count on Friday"}, "audience": {"support"}})
	checkPage(t, "publish", pg, 200, "The announcement is published to Support.", "Count &lt;Friday&gt;")
	receipts := matchIn(t, "receipts link", `href="(/admin/staff/announcements/[^"]+)"`, pg.Body)
	pg = owner.get(receipts)
	checkPage(t, "receipts before", pg, 200, "0 read, 1 not yet.", "Sam Support")
	inbox := sam.get("/admin/staff/announcements")
	checkPage(t, "Sam's announcements", inbox, 200, "Count &lt;Friday&gt;", "unread", "Mark read")
	checkLacks(t, "Sam's announcements", inbox, `action="/admin/staff/announcements"`)
	pg = sam.submit(inbox, receipts+"/read", nil)
	checkPage(t, "mark read", pg, 200, "is marked read.")
	checkLacks(t, "read", pg, "Mark read")
	checkPage(t, "receipts after", owner.get(receipts), 200, "1 read, 0 not yet.")
	checkPage(t, "Sam's receipts", sam.get(receipts), 403, "<html")

	// The attendance report of this week shows Sam's check-in.
	pg = owner.get("/admin/staff/attendance")
	checkPage(t, "attendance", pg, 200, `id="attendance"`, "Sam Support", "Hours worked")
	pg = owner.get("/admin/staff/attendance?from=2026-02-30&to=2026-03-01")
	checkPage(t, "attendance of a bad day", pg, 422, `aria-describedby="e-from"`, `value="2026-02-30"`)

	// The free plan's second seat is Sam's: a third member is refused
	// with a message, not an error page.
	pg = owner.submit(owner.get("/admin/staff"), "/admin/staff/invitations", url.Values{"email": {"tess@alpha.test"}, "role": {"staff"}})
	checkPage(t, "invite beyond the plan", pg, 422, "no seat left", `value="tess@alpha.test"`)

	// Sam's role changes; deactivated, Sam can no longer sign in.
	pg = owner.submit(owner.get("/admin/staff"), "/admin/staff/accounts/"+accepted.Staff.ID+"/role", url.Values{"role": {"staff"}})
	checkPage(t, "change role", pg, 200, "Sam Support is now Staff")
	pg = owner.submit(pg, "/admin/staff/accounts/"+accepted.Staff.ID+"/deactivate", nil)
	checkPage(t, "deactivate", pg, 200, "account is deactivated")
	again := newVisitor(t, p, alpha.host)
	pg = again.submit(again.get("/admin/sign-in"), "/admin/sign-in", url.Values{"email": {"sam@alpha.test"}, "password": {"another horse battery staple"}})
	if pg.Status == 200 && !strings.HasPrefix(pg.URL, "/admin/sign-in") {
		t.Fatalf("a deactivated member signed in: %s", pg.URL)
	}
}

// TestAdminKeysAndSettings: an owner makes an API key, shown once, listed
// by its prefix only, and revokes it, after which the API refuses it;
// changes the store's name to markup, which the storefront shows escaped;
// a bad colour is marked; and a member of store A cannot change store B.
func TestAdminKeysAndSettings(t *testing.T) {
	p := start(t)
	alpha := signupOwnedStore(t, p, "alpha")
	bravo := signupOwnedStore(t, p, "bravo")
	owner := newVisitor(t, p, alpha.host)
	signInAdminAs(t, owner, alpha.email, alpha.password)

	keys := owner.get("/admin/api-keys")
	checkPage(t, "API keys", keys, 200, "No API keys yet", `action="/admin/api-keys"`)
	pg := owner.submit(keys, "/admin/api-keys", url.Values{"name": {""}, "kind": {"secret"}})
	checkPage(t, "key without a name", pg, 422, `aria-describedby="e-name"`)
	form := hiddenFields(t, keys.Body, "/admin/api-keys")
	form.Set("name", "ERP <sync>")
	form.Set("kind", "secret")
	pg = owner.post("/admin/api-keys", form)
	checkPage(t, "make a key", pg, 200, "it is not shown again", "ERP &lt;sync&gt;")
	if cc := pg.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with the key has Cache-Control %q, want no-store", cc)
	}
	secret := matchIn(t, "the key", `id="new-key-value" type="text" value="([^"]+)"`, pg.Body)
	if !strings.HasPrefix(secret, "sk_live_") {
		t.Fatalf("the key shown is %q", secret)
	}
	// A reload of the answer makes no second key.
	pg = owner.post("/admin/api-keys", form)
	checkPage(t, "make the key again", pg, 200, "This key was made already")
	checkLacks(t, "make the key again", pg, secret)
	list := owner.get("/admin/api-keys")
	prefix := matchIn(t, "key prefix", `<code>([^<…]+)…</code>`, list.Body)
	if !strings.HasPrefix(secret, prefix) || len(prefix) >= len(secret) {
		t.Fatalf("the list shows %q of the key %q", prefix, secret)
	}
	checkLacks(t, "the key list", list, secret)
	if n := strings.Count(list.Body, `<tr id="key-`); n != 1 {
		t.Fatalf("%d keys listed, want 1", n)
	}

	id := matchIn(t, "revoke form", `action="/admin/api-keys/([^/]+)/revoke"`, list.Body)
	pg = owner.submit(list, "/admin/api-keys/"+id+"/revoke", nil)
	checkPage(t, "revoke", pg, 200, "The key is revoked", "revoked")
	if r := p.Call("GET", "/api/v1/admin/store", nil, map[string]string{"Host": alpha.host, "Authorization": "Bearer " + secret}); r.Status != http.StatusUnauthorized {
		t.Fatalf("the revoked key: %d %s", r.Status, r.Body)
	}
	// A key made the same way works (so the refusal above was the revoking).
	pg = owner.submit(owner.get("/admin/api-keys"), "/admin/api-keys", url.Values{"name": {"Reports"}, "kind": {"secret"}})
	live := matchIn(t, "the second key", `id="new-key-value" type="text" value="([^"]+)"`, pg.Body)
	if r := p.Call("GET", "/api/v1/admin/store", nil, map[string]string{"Host": alpha.host, "Authorization": "Bearer " + live}); r.Status != http.StatusOK {
		t.Fatalf("a live key: %d %s", r.Status, r.Body)
	}
	checkPage(t, "unknown key", owner.post("/admin/api-keys/7d1f7c8e-0000-4000-8000-000000000000/revoke", url.Values{}), 404, "Page not found")

	// Settings: a bad colour is marked, everything typed kept.
	settings := owner.get("/admin/settings")
	checkPage(t, "settings", settings, 200, `value="alpha shop"`, `type="color"`, "within 10 seconds", `id="plan"`, "alpha.localhost")
	bad := url.Values{"name": {"Alpha Coffee"}, "currency": {"EUR"}, "locale": {"en-GB"}, "tax_inclusive": {"on"},
		"brand_color": {"red"}, "accent_color": {"#b4461f"}, "cors_origins": {"https://shop.alpha.test"}, "time_zone": {"UTC"}, "invoice_on": {"confirmed"}}
	pg = owner.submit(settings, "/admin/settings", bad)
	checkPage(t, "bad colour", pg, 422, `aria-describedby="e-brand_color"`, `value="red"`, `value="Alpha Coffee"`, "https://shop.alpha.test")
	// A country that is none is marked at its field, the address kept.
	badCountry := url.Values{"name": {"Alpha Coffee"}, "currency": {"EUR"}, "locale": {"en-GB"}, "brand_color": {"#123456"}, "accent_color": {"#7a2e0e"},
		"time_zone": {"Europe/Berlin"}, "invoice_on": {"shipped"}, "address_line1": {"Kaffeeweg 3"}, "address_city": {"Köln"}, "address_country": {"Germany"}}
	pg = owner.submit(settings, "/admin/settings", badCountry)
	checkPage(t, "bad country", pg, 422, `aria-describedby="e-address_country"`, `value="Kaffeeweg 3"`, `value="Germany"`)

	name := "<script>alert(1)</script>"
	good := url.Values{"name": {name}, "currency": {"EUR"}, "locale": {"en-GB"}, "tax_inclusive": {"on"},
		"brand_color": {"#123456"}, "accent_color": {"#7a2e0e"}, "cors_origins": {"https://shop.alpha.test\r\n\r\nhttps://app.alpha.test"},
		"legal_name": {"Alpha Kaffee GmbH"}, "tax_id": {"de123456789"}, "time_zone": {"Europe/Berlin"}, "invoice_on": {"shipped"},
		"address_line1": {"Kaffeeweg 3"}, "address_city": {"Köln"}, "address_postal_code": {"50667"}, "address_country": {"de"}}
	pg = owner.submit(settings, "/admin/settings", good)
	checkPage(t, "save settings", pg, 200, "The settings are saved", `value="#123456"`, "https://app.alpha.test",
		`value="Alpha Kaffee GmbH"`, `value="DE123456789"`, `value="Europe/Berlin"`, `value="DE"`, `<option value="shipped" selected>`)
	checkLacks(t, "save settings", pg, name)

	// The storefront shows the new name, escaped, within its cache's 10 s.
	shop := newVisitor(t, p, alpha.host)
	deadline := time.Now().Add(30 * time.Second)
	for {
		home := shop.get("/")
		if strings.Contains(home.Body, name) {
			t.Fatalf("the storefront shows the name unescaped:\n%.2000s", home.Body)
		}
		// The header shows the name, and links the colours' style sheet
		// (versioned by them).
		if home.Status == 200 && strings.Contains(home.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") && strings.Contains(home.Body, "brand.css?v=1234567a2e0e") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the storefront does not show the new name:\n%.2000s", home.Body)
		}
		time.Sleep(250 * time.Millisecond)
	}

	if css := shop.get("/brand.css"); !strings.Contains(css.Body, "--brand:#123456") || !strings.Contains(css.Body, "--accent:#7a2e0e") {
		t.Fatalf("the storefront's colours: %s", css.Body)
	}

	// A domain is added and removed; a bad one is marked.
	pg = owner.submit(owner.get("/admin/settings"), "/admin/settings/domains", url.Values{"host": {"not a host"}})
	checkPage(t, "bad domain", pg, 422, `aria-describedby="e-host"`, `value="not a host"`)
	pg = owner.submit(owner.get("/admin/settings"), "/admin/settings/domains", url.Values{"host": {"shop.alpha.test"}})
	checkPage(t, "add domain", pg, 200, "shop.alpha.test", `action="/admin/settings/domains/shop.alpha.test/remove"`)
	pg = owner.submit(pg, "/admin/settings/domains/shop.alpha.test/remove", nil)
	checkPage(t, "remove domain", pg, 200, "shop.alpha.test is removed")

	// Alpha's session sent to bravo's admin is no one's there: the form is
	// refused (to the sign-in page) and bravo keeps its name.
	intruder := newVisitor(t, p, bravo.host)
	u := &url.URL{Scheme: "http", Host: alpha.host, Path: "/admin/"}
	intruder.hc.Jar.SetCookies(u, owner.hc.Jar.Cookies(u))
	pg = intruder.post("/admin/settings", url.Values{"name": {"Taken over"}, "currency": {"EUR"}, "locale": {"en"},
		"brand_color": {"#000000"}, "accent_color": {"#000000"}})
	if !strings.HasPrefix(pg.URL, "/admin/sign-in") {
		t.Fatalf("alpha's owner posted bravo's settings: %d at %s\n%.2000s", pg.Status, pg.URL, pg.Body)
	}
	r := p.Call("GET", "/api/v1/admin/store", nil, map[string]string{"Host": bravo.host, "Authorization": "Bearer " + bravo.ownerToken})
	var st struct {
		Name string `json:"name"`
	}
	r.JSON(t, &st)
	if r.Status != http.StatusOK || st.Name != "bravo shop" {
		t.Fatalf("bravo's settings: %d %s", r.Status, r.Body)
	}
}
