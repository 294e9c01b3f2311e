package notify

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/notify/notifydb"
	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// Errors of the email operations.
var (
	ErrEmailNotFound = errors.New("notify: email not found")
	// ErrEmailNotFailed: only a failed email is sent again; a sent one
	// reached the server, a pending one is on its way.
	ErrEmailNotFailed = errors.New("notify: email has not failed")
)

// emails is the emails' queue. An attempt renders the email if it is not
// yet, then sends it (or, without SMTP, keeps it).
func (s *Service) emails() queue {
	// The claim outlasts rendering and the SMTP attempt (each bounded by
	// the timeout) and the writes after them: a crash leaves the email due
	// again once it ends.
	return queue{what: "email", workers: s.cfg.Mail.Workers, poll: s.cfg.Poll, wake: s.mailWake, lease: 2*s.cfg.Mail.Timeout + 10*time.Second,
		due: func(ctx context.Context, q *notifydb.Queries, now int64, lim int32) ([]due, error) {
			rows, err := q.DueEmails(ctx, notifydb.DueEmailsParams{Now: now, Lim: lim})
			return dues(rows, func(r notifydb.DueEmailsRow) due { return due{tenant: r.TenantID, id: r.ID, seen: r.NextAttemptAt} }), err
		},
		claim: func(ctx context.Context, q *notifydb.Queries, d due, until int64) (int64, error) {
			return q.ClaimEmail(ctx, notifydb.ClaimEmailParams{LeaseUntil: until, TenantID: d.tenant, ID: d.id, Seen: d.seen})
		},
		attempt: s.mailAttempt,
		keep:    s.cfg.Mail.Keep,
		sweep: func(ctx context.Context, q *notifydb.Queries, cutoff int64) (int64, error) {
			return q.SweepEmails(ctx, cutoff)
		},
	}
}

// mailAttempt works one claimed email: renders it if it is not yet, then
// sends it once over SMTP (or keeps it, without SMTP), and records the
// outcome: sent, kept, another attempt later, or failed.
//
// The one window in which an email can go twice: the SMTP server accepted
// it and the process died before the outcome was written. The lease then
// runs out and the email is sent again, with the same Message-ID.
func (s *Service) mailAttempt(ctx context.Context, id string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	var e notifydb.Email
	err = s.st.Read(ctx, func(q *notifydb.Queries) error {
		var err error
		e, err = q.GetEmail(ctx, notifydb.GetEmailParams{TenantID: tenant, ID: id})
		return err
	})
	if errors.Is(err, sql.ErrNoRows) || err == nil && e.Status != notifyapi.EmailPending {
		return nil
	}
	if err != nil {
		return err
	}
	if e.Recipient == "" {
		rctx, cancel := context.WithTimeout(ctx, s.cfg.Mail.Timeout)
		r, err := s.render(rctx, e)
		cancel()
		if err != nil {
			return s.finishEmail(ctx, e, err)
		}
		e.Recipient, e.FromName, e.Locale, e.Subject, e.TextBody, e.HtmlBody = r.To, r.FromName, r.Locale, r.Subject, r.Text, r.HTML
		err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *notifydb.Queries) error {
			_, err := q.SetEmailRendered(ctx, notifydb.SetEmailRenderedParams{Recipient: e.Recipient, FromName: e.FromName,
				Locale: e.Locale, Subject: e.Subject, TextBody: e.TextBody, HtmlBody: e.HtmlBody,
				UpdatedAt: sqldb.Micros(s.now()), TenantID: tenant, ID: id})
			return err
		})
		if err != nil {
			return err
		}
	}
	if s.smtp == nil {
		return s.finishEmail(ctx, e, nil)
	}
	files, err := s.attachments(ctx, e)
	if err != nil {
		return s.finishEmail(ctx, e, err)
	}
	err = s.smtp.send(ctx, s.cfg.Mail.Timeout, outgoing{fromName: e.FromName, from: s.cfg.Mail.address(), to: e.Recipient,
		subject: e.Subject, text: e.TextBody, html: e.HtmlBody, messageID: e.MessageID, date: s.now(), attachments: files})
	if s.crash != nil {
		s.crash(crashAfterSend) // fault injection: the server has it, the row says pending
	}
	return s.finishEmail(ctx, e, err)
}

// finishEmail records an attempt's outcome (err nil: sent, or kept without
// SMTP). A transient failure is retried with backoff until RetryUntil; a
// permanent one, or the last, fails the email: it stays, with its error, in
// the admin's list, to be sent again from there.
func (s *Service) finishEmail(ctx context.Context, e notifydb.Email, err error) error {
	now := s.now()
	status, next, msg := notifyapi.EmailSent, now, ""
	switch {
	case err == nil && s.smtp == nil:
		status = notifyapi.EmailKept
	case err != nil:
		msg = err.Error()
		if len(msg) > 2000 {
			msg = strings.ToValidUTF8(msg[:2000], "") // not half a character
		}
		status = notifyapi.EmailPending
		next = now.Add(backoff(int(e.Attempts)+1, s.cfg.Mail.RetryBase, s.cfg.Mail.RetryMax, rand.Float64()))
		if bus.IsPermanent(err) || next.After(sqldb.FromMicros(e.RetryUntil)) {
			status = notifyapi.EmailFailed
		}
		s.log.WarnContext(ctx, "email not sent", "email_id", e.ID, "kind", e.Kind, "tenant", e.TenantID, "status", status, "err", msg)
	}
	return s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *notifydb.Queries) error {
		if _, err := q.FinishEmailAttempt(ctx, notifydb.FinishEmailAttemptParams{Status: status, NextAttemptAt: sqldb.Micros(next),
			LastError: msg, UpdatedAt: sqldb.Micros(now), TenantID: e.TenantID, ID: e.ID}); err != nil {
			return err
		}
		if status != notifyapi.EmailSent || e.Secret == "" {
			return nil
		}
		// Sent: the link's token is the recipient's alone from now on.
		return q.ScrubEmail(ctx, notifydb.ScrubEmailParams{Data: strings.ReplaceAll(e.Data, e.Secret, ""),
			TextBody: mask(e.TextBody, e.Secret), HtmlBody: mask(e.HtmlBody, e.Secret), TenantID: e.TenantID, ID: e.ID})
	})
}

// mask replaces secret in s by an ellipsis.
func mask(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "…")
}

func toEmail(r notifydb.ListEmailsRow) notifyapi.Email {
	e := notifyapi.Email{ID: r.ID, EventID: r.EventID, EventType: r.EventType, Kind: r.Kind, To: r.Recipient, Subject: r.Subject,
		MessageID: r.MessageID, Status: r.Status, Attempts: int(r.Attempts), LastError: r.LastError,
		CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt)}
	if r.Status == notifyapi.EmailPending {
		t := sqldb.FromMicros(r.NextAttemptAt)
		e.NextAttemptAt = &t
	}
	return e
}

// Email returns one email with its rendered parts. A one-time token in
// them is masked when the server sends mail: the link is the recipient's,
// not the staff's. Without SMTP (the laptop) the admin is the only place
// the email reaches, so it is shown whole.
func (s *Service) Email(ctx context.Context, id string) (notifyapi.Email, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return notifyapi.Email{}, err
	}
	var e notifydb.Email
	err = s.st.Read(ctx, func(q *notifydb.Queries) error {
		var err error
		e, err = q.GetEmail(ctx, notifydb.GetEmailParams{TenantID: tenant, ID: id})
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return notifyapi.Email{}, ErrEmailNotFound
	}
	if err != nil {
		return notifyapi.Email{}, err
	}
	out := toEmail(notifydb.ListEmailsRow{TenantID: e.TenantID, ID: e.ID, EventID: e.EventID, EventType: e.EventType, Kind: e.Kind,
		Recipient: e.Recipient, Subject: e.Subject, MessageID: e.MessageID, Status: e.Status, Attempts: e.Attempts,
		NextAttemptAt: e.NextAttemptAt, LastError: e.LastError, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt})
	out.Locale, out.Text, out.HTML = e.Locale, e.TextBody, e.HtmlBody
	if s.smtp != nil {
		out.Text, out.HTML = mask(out.Text, e.Secret), mask(out.HTML, e.Secret)
	}
	return out, nil
}

// Emails lists the store's emails, newest first, optionally of one status.
func (s *Service) Emails(ctx context.Context, status string, limit int, cursor string) (notifyapi.EmailList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return notifyapi.EmailList{}, err
	}
	items, next, err := newestFirst(ctx, s, cursor, limit, func(q *notifydb.Queries, before string, lim int32) ([]notifydb.ListEmailsRow, error) {
		return q.ListEmails(ctx, notifydb.ListEmailsParams{TenantID: tenant, Status: status, Before: before, Lim: lim})
	}, func(r notifydb.ListEmailsRow) string { return r.ID }, toEmail)
	return notifyapi.EmailList{Items: items, NextCursor: next}, err
}

// ResendEmail queues a failed email again: a new round of attempts, the
// first at once, of the same message (the same Message-ID).
func (s *Service) ResendEmail(ctx context.Context, id string) (notifyapi.Email, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return notifyapi.Email{}, err
	}
	now := s.now()
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *notifydb.Queries) error {
		n, err := q.ResendEmail(ctx, notifydb.ResendEmailParams{Now: sqldb.Micros(now), RetryUntil: sqldb.Micros(now.Add(s.cfg.Mail.RetryFor)), TenantID: tenant, ID: id})
		if err != nil || n > 0 {
			return err
		}
		if _, err := q.GetEmail(ctx, notifydb.GetEmailParams{TenantID: tenant, ID: id}); errors.Is(err, sql.ErrNoRows) {
			return ErrEmailNotFound
		} else if err != nil {
			return err
		}
		return ErrEmailNotFailed
	})
	if err != nil {
		return notifyapi.Email{}, err
	}
	s.wakeMailer()
	return s.Email(ctx, id)
}

// crashAfterSend is the email worker's crash point (kit.Faults): right
// after the SMTP server accepted an email, before that is recorded.
const crashAfterSend = "send"
