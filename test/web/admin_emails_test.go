package web

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminEmails: on a server without SMTP settings, a staff invitation
// makes an email that the owner finds in the admin's Emails section, kept,
// with its link (the laptop's way to receive it), its text part as text
// and its HTML part in a sandboxed frame: the store's name, markup
// included, never becomes the admin page's markup.
func TestAdminEmails(t *testing.T) {
	p := start(t)
	alpha := signupOwnedStore(t, p, "mails")
	as := map[string]string{"Host": alpha.host, "Authorization": "Bearer " + alpha.ownerToken}
	if r := p.Call("PATCH", "/api/v1/admin/store", map[string]any{"name": "Mails <i>Shop</i>"}, as); r.Status != http.StatusOK {
		t.Fatalf("rename the store: %d %s", r.Status, r.Body)
	}
	if r := p.Call("POST", "/api/v1/admin/staff/invitations", map[string]any{"email": "nia@mails.test", "role": "staff", "name": "Nia"}, as); r.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	owner := newVisitor(t, p, alpha.host)
	signInAdminAs(t, owner, alpha.email, alpha.password)
	var list page
	for deadline := time.Now().Add(30 * time.Second); ; {
		list = owner.get("/admin/emails?status=kept")
		if strings.Contains(list.Body, "nia@mails.test") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no kept email:\n%.3000s", list.Body)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition, with a deadline
	}
	checkPage(t, "emails", list, 200, `href="/admin/emails"`, `<span class="status">kept</span>`)
	id := matchIn(t, "email link", `<a href="/admin/emails/([0-9a-f-]{36})">`, list.Body)
	pg := owner.get("/admin/emails/" + id)
	checkPage(t, "email", pg, 200, "nia@mails.test", `id="email-text"`, "/admin/invitations/accept?token=",
		`id="email-html" title="The email's HTML part" sandbox srcdoc="`, "Mails &lt;i&gt;Shop&lt;/i&gt;")
	checkLacks(t, "email", pg, "<i>Shop</i>", "resend-email")
}

// TestAdminEmailResend: with an SMTP server that does not answer and no
// time to retry, an email fails; its page says why, masks the link's
// token, and offers Send again, which queues it (and it fails again: the
// server is still away).
func TestAdminEmailResend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	away := ln.Addr().String()
	ln.Close()
	p := start(t, "-notify.smtp-url=smtp://"+away, "-notify.mail-retry-for=1ms", "-notify.mail-timeout=2s")
	alpha := signupOwnedStore(t, p, "resend")
	as := map[string]string{"Host": alpha.host, "Authorization": "Bearer " + alpha.ownerToken}
	if r := p.Call("POST", "/api/v1/admin/staff/invitations", map[string]any{"email": "rae@resend.test", "role": "support"}, as); r.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	owner := newVisitor(t, p, alpha.host)
	signInAdminAs(t, owner, alpha.email, alpha.password)
	var list page
	for deadline := time.Now().Add(30 * time.Second); ; {
		list = owner.get("/admin/emails?status=failed")
		if strings.Contains(list.Body, "rae@resend.test") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed email:\n%.3000s", list.Body)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition, with a deadline
	}
	id := matchIn(t, "email link", `<a href="/admin/emails/([0-9a-f-]{36})">`, list.Body)
	pg := owner.get("/admin/emails/" + id)
	// A server that sends mail masks the invitation's token: it is the
	// invitee's, not the staff's.
	checkPage(t, "failed email", pg, 200, `<span class="status">failed</span>`, "Last error", "connect", `id="resend-email"`,
		"/admin/invitations/accept?token=…")
	pg = owner.submit(pg, "/admin/emails/"+id+"/resend", nil)
	checkPage(t, "resend", pg, 200, "The email is queued to be sent again.")
}
