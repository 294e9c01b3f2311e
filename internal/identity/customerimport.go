package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/identity/identitydb"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
)

// Import outcomes (identityapi.CustomerImported.Outcome).
const (
	outcomeCreated   = "created"
	outcomeUpdated   = "updated"
	outcomeUnchanged = "unchanged"
)

// ImportCustomer creates a customer account, or brings the account with
// the same email up to date (name, and phone when given): what a staff CSV import does
// for each row. A new account has no password (docs/decisions/
// 0030-csv-import-export.md): nobody can sign in to it until the customer
// sets one through the password reset flow, which Invite starts at once
// by sending the reset link. The email is the key, so the same request
// twice changes nothing the second time; DryRun answers what would happen.
func (s *Service) ImportCustomer(ctx context.Context, in identityapi.CustomerImport) (identityapi.CustomerImported, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.CustomerImported{}, err
	}
	email, err := normalizeEmail("email", in.Email)
	if err != nil {
		return identityapi.CustomerImported{}, err
	}
	phone := ""
	if in.Phone != nil {
		phone = *in.Phone
	}
	if err := texts(checkText("name", in.Name, identityapi.MaxNameLength, true), checkPhone("phone", phone)); err != nil {
		return identityapi.CustomerImported{}, err
	}
	now := s.now()
	var out identityapi.CustomerImported
	decide := func(ctx context.Context, q *identitydb.Queries) (identitydb.Customer, bool, error) {
		row, err := q.GetCustomerByEmail(ctx, identitydb.GetCustomerByEmailParams{TenantID: tenant, Email: email})
		if errors.Is(err, sql.ErrNoRows) {
			return identitydb.Customer{TenantID: tenant, ID: kit.NewID(), Email: email, Name: in.Name, Phone: phone,
				CreatedAt: sqldb.Micros(now), UpdatedAt: sqldb.Micros(now)}, false, nil
		}
		return row, true, err
	}
	if in.DryRun {
		err = s.st.Read(ctx, func(q *identitydb.Queries) error {
			row, found, err := decide(ctx, q)
			out = imported(row, found, in)
			return err
		})
		if err != nil {
			return identityapi.CustomerImported{}, fmt.Errorf("import customer: %w", err)
		}
		return out, nil
	}
	raw := newSecret()
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *identitydb.Queries) error {
		row, found, err := decide(ctx, q)
		if err != nil {
			return fmt.Errorf("load customer: %w", err)
		}
		out = imported(row, found, in)
		switch out.Outcome {
		case outcomeUnchanged:
			return nil
		case outcomeUpdated:
			row.Name, row.UpdatedAt = in.Name, sqldb.Micros(now)
			if in.Phone != nil {
				row.Phone = phone
			}
			if _, err := q.UpdateCustomerProfile(ctx, identitydb.UpdateCustomerProfileParams{Name: row.Name, Phone: row.Phone,
				UpdatedAt: row.UpdatedAt, TenantID: tenant, ID: row.ID}); err != nil {
				return fmt.Errorf("update customer: %w", err)
			}
			out.Customer = toCustomer(row)
			return nil
		}
		// No password: the empty hash matches none (authenticate).
		err = q.InsertCustomer(ctx, identitydb.InsertCustomerParams{TenantID: tenant, ID: row.ID, Email: row.Email, Name: row.Name,
			Phone: row.Phone, PasswordHash: "", CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt})
		if sqldb.IsUniqueViolation(err) {
			return emailTaken() // a concurrent import of the same email won
		}
		if err != nil {
			return fmt.Errorf("insert customer: %w", err)
		}
		if err := addEvent(ctx, tx, identityapi.SubjectCustomerRegistered, now, identityapi.CustomerRegistered{
			CustomerID: row.ID, Email: row.Email, Name: row.Name}); err != nil {
			return err
		}
		if !in.Invite {
			return nil
		}
		expires := now.Add(s.cfg.ResetTTL)
		if err := q.InsertPasswordReset(ctx, identitydb.InsertPasswordResetParams{TenantID: tenant, TokenHash: tokenHash(raw),
			CustomerID: row.ID, ExpiresAt: sqldb.Micros(expires), CreatedAt: sqldb.Micros(now)}); err != nil {
			return fmt.Errorf("store reset token: %w", err)
		}
		return addEvent(ctx, tx, identityapi.SubjectPasswordResetRequested, now, identityapi.PasswordResetRequested{
			CustomerID: row.ID, Email: row.Email, Token: raw, ExpiresAt: expires.UTC()})
	})
	if err != nil {
		return identityapi.CustomerImported{}, fmt.Errorf("import customer: %w", err)
	}
	return out, nil
}

// imported is the answer for the account row (found or about to be made).
func imported(row identitydb.Customer, found bool, in identityapi.CustomerImport) identityapi.CustomerImported {
	switch {
	case !found:
		return identityapi.CustomerImported{Customer: toCustomer(row), Outcome: outcomeCreated}
	case row.Name == in.Name && (in.Phone == nil || row.Phone == *in.Phone):
		return identityapi.CustomerImported{Customer: toCustomer(row), Outcome: outcomeUnchanged}
	}
	return identityapi.CustomerImported{Customer: toCustomer(row), Outcome: outcomeUpdated}
}

// MaySeePersonalData reports whether p sees customers' personal data in
// lists and exports: the owner, managers and the deployment's admin token
// do; staff, support and API keys see it masked.
func MaySeePersonalData(p auth.Principal) bool {
	switch p.Kind {
	case auth.KindAdmin:
		return true
	case auth.KindStaff:
		return p.Role == auth.RoleOwner || p.Role == auth.RoleManager
	}
	return false
}

// Customers returns a page of the store's customers, oldest first; their
// email, name and phone are masked unless unmasked.
func (s *Service) Customers(ctx context.Context, cursor string, limit int, unmasked bool) (identityapi.CustomerList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.CustomerList{}, err
	}
	after := ""
	if cursor != "" {
		c, err := kit.ParseCursor(cursor)
		if err != nil {
			return identityapi.CustomerList{}, err
		}
		after = c.ID
	}
	n := web.PageSize(limit, 50, 100)
	rows, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) ([]identitydb.Customer, error) {
		return q.ListCustomers(ctx, identitydb.ListCustomersParams{TenantID: tenant, After: after, N: int32(n + 1)})
	})
	if err != nil {
		return identityapi.CustomerList{}, fmt.Errorf("list customers: %w", err)
	}
	out := identityapi.CustomerList{Items: []identityapi.Customer{}, Masked: !unmasked}
	if len(rows) > n {
		rows = rows[:n]
		out.NextCursor = kit.Cursor{ID: rows[n-1].ID}.String()
	}
	for _, r := range rows {
		c := toCustomer(r)
		if !unmasked {
			c = maskCustomer(c)
		}
		out.Items = append(out.Items, c)
	}
	return out, nil
}

// maskCustomer masks c's personal data: email, name and phone.
func maskCustomer(c identityapi.Customer) identityapi.Customer {
	c.Email, c.Name, c.Phone = maskEmail(c.Email), maskWords(c.Name), maskTail(c.Phone)
	return c
}

// maskEmail keeps the first character and the domain: a***@example.com.
func maskEmail(e string) string {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" {
		return "***"
	}
	return string([]rune(local)[0]) + "***@" + domain
}

// maskWords keeps the first letter of each word: "Ada Lovelace" → "A** L*******".
func maskWords(s string) string {
	var b strings.Builder
	for i, w := range strings.Fields(s) {
		if i > 0 {
			b.WriteByte(' ')
		}
		r := []rune(w)
		b.WriteRune(r[0])
		b.WriteString(strings.Repeat("*", len(r)-1))
	}
	return b.String()
}

// maskTail keeps the last two characters of a phone number: ****00.
func maskTail(s string) string {
	if len(s) < 6 {
		return strings.Repeat("*", len(s))
	}
	return "****" + s[len(s)-2:]
}

// RecordExport adds an export to the audit log, with the principal in ctx
// as who ran it.
func (s *Service) RecordExport(ctx context.Context, r identityapi.ExportRecord) (identityapi.ExportAudit, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.ExportAudit{}, err
	}
	p, err := actor(ctx)
	if err != nil {
		return identityapi.ExportAudit{}, err
	}
	row := identitydb.ExportAudit{TenantID: tenant, ID: kit.NewID(), Kind: r.Kind, RowsCount: r.Rows, ActorKind: string(p.Kind),
		ActorID: p.Subject, ActorRole: string(p.Role), Via: r.Via, CreatedAt: sqldb.Micros(s.now())}
	if r.Masked {
		row.Masked = 1
	}
	if r.InProgress {
		row.InProgress, row.RowsCount = 1, 0
	}
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		return q.InsertExportAudit(ctx, identitydb.InsertExportAuditParams{TenantID: row.TenantID, ID: row.ID, Kind: row.Kind,
			RowsCount: row.RowsCount, Masked: row.Masked, ActorKind: row.ActorKind, ActorID: row.ActorID, ActorRole: row.ActorRole,
			Via: row.Via, CreatedAt: row.CreatedAt, InProgress: row.InProgress})
	})
	if err != nil {
		return identityapi.ExportAudit{}, fmt.Errorf("record export: %w", err)
	}
	s.log.InfoContext(ctx, "csv export", "tenant", tenant, "id", row.ID, "kind", r.Kind, "rows", row.RowsCount, "masked", r.Masked,
		"in_progress", r.InProgress, "actor_kind", p.Kind, "actor_id", p.Subject, "via", r.Via)
	return toExportAudit(row), nil
}

// FinishExport sets the row count of export id, recorded in progress by
// the principal in ctx; ErrExportNotFound for another's, an unknown or a
// finished one.
func (s *Service) FinishExport(ctx context.Context, id string, rows int64) (identityapi.ExportAudit, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.ExportAudit{}, err
	}
	p, err := actor(ctx)
	if err != nil {
		return identityapi.ExportAudit{}, err
	}
	var row identitydb.ExportAudit
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		n, err := q.FinishExportAudit(ctx, identitydb.FinishExportAuditParams{RowsCount: rows, TenantID: tenant, ID: id,
			ActorKind: string(p.Kind), ActorID: p.Subject})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrExportNotFound
		}
		row, err = q.GetExportAudit(ctx, identitydb.GetExportAuditParams{TenantID: tenant, ID: id})
		return err
	})
	if err != nil {
		if errors.Is(err, ErrExportNotFound) {
			return identityapi.ExportAudit{}, err
		}
		return identityapi.ExportAudit{}, fmt.Errorf("finish export: %w", err)
	}
	s.log.InfoContext(ctx, "csv export finished", "tenant", tenant, "id", id, "kind", row.Kind, "rows", rows,
		"actor_kind", p.Kind, "actor_id", p.Subject)
	return toExportAudit(row), nil
}

// Exports returns a page of the export audit log, newest first.
func (s *Service) Exports(ctx context.Context, cursor string) (identityapi.ExportAuditList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.ExportAuditList{}, err
	}
	before := "z" // after every UUID
	if cursor != "" {
		c, err := kit.ParseCursor(cursor)
		if err != nil {
			return identityapi.ExportAuditList{}, err
		}
		before = c.ID
	}
	const n = 50
	rows, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) ([]identitydb.ExportAudit, error) {
		return q.ListExportAudit(ctx, identitydb.ListExportAuditParams{TenantID: tenant, Before: before, N: n + 1})
	})
	if err != nil {
		return identityapi.ExportAuditList{}, fmt.Errorf("list exports: %w", err)
	}
	out := identityapi.ExportAuditList{Items: []identityapi.ExportAudit{}}
	if len(rows) > n {
		rows = rows[:n]
		out.NextCursor = kit.Cursor{ID: rows[n-1].ID}.String()
	}
	for _, r := range rows {
		out.Items = append(out.Items, toExportAudit(r))
	}
	return out, nil
}

func toExportAudit(r identitydb.ExportAudit) identityapi.ExportAudit {
	return identityapi.ExportAudit{ID: r.ID, Kind: r.Kind, Rows: r.RowsCount, Masked: r.Masked != 0, ActorKind: r.ActorKind,
		ActorID: r.ActorID, ActorRole: r.ActorRole, Via: r.Via, At: sqldb.FromMicros(r.CreatedAt), InProgress: r.InProgress != 0}
}
