package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/staff/staffdb"
)

// validAudience reports whether a is "all" or a staff role.
func validAudience(a string) bool {
	return a == staffapi.AudienceAll || auth.ValidStaffRole(auth.Role(a))
}

// PublishAnnouncement publishes an announcement to all staff or one role,
// with the caller as author, and announces it.
func (s *Service) PublishAnnouncement(ctx context.Context, in staffapi.AnnouncementCreate) (staffapi.Announcement, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Announcement{}, err
	}
	a := staffapi.Announcement{ID: kit.NewID(), Title: strings.TrimSpace(in.Title), Body: strings.TrimSpace(in.Body),
		Audience: in.Audience, CreatedAt: storedTime(s.now())}
	if p, ok := auth.From(ctx); ok {
		a.Author = p.Subject
	}
	var errs []kit.FieldError
	if msg := checkText(a.Title, 1, maxTitle, false); msg != "" {
		errs = append(errs, kit.FieldError{Field: "title", Message: msg, Value: a.Title})
	}
	if msg := checkText(a.Body, 1, maxBody, true); msg != "" {
		errs = append(errs, kit.FieldError{Field: "body", Message: msg})
	}
	if !validAudience(a.Audience) {
		errs = append(errs, kit.FieldError{Field: "audience", Message: "must be all, owner, manager, staff or support", Value: a.Audience})
	}
	if len(errs) > 0 {
		return staffapi.Announcement{}, kit.Invalid(ErrInvalid, errs...)
	}
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *staffdb.Queries) error {
		err := q.InsertAnnouncement(ctx, staffdb.InsertAnnouncementParams{
			TenantID: tenant, ID: a.ID, Title: a.Title, Body: a.Body, Audience: a.Audience, Author: a.Author, CreatedAt: sqldb.Micros(a.CreatedAt),
		})
		if err != nil {
			return fmt.Errorf("insert announcement: %w", err)
		}
		return addEvent(ctx, tx, staffapi.SubjectAnnouncementPublished, a.CreatedAt, staffapi.AnnouncementPublished{
			AnnouncementID: a.ID, Title: a.Title, Audience: a.Audience, Author: a.Author, At: a.CreatedAt,
		})
	})
	if err != nil {
		return staffapi.Announcement{}, fmt.Errorf("publish announcement: %w", err)
	}
	return a, nil
}

// Page selects a page of a newest-first list.
type Page struct {
	Limit  int
	Cursor string
}

func (pg Page) before() (kit.Cursor, error) {
	if pg.Cursor == "" {
		return kit.Cursor{At: farFuture}, nil
	}
	return kit.ParseCursor(pg.Cursor)
}

// Announcements lists every announcement, newest first (admin).
func (s *Service) Announcements(ctx context.Context, pg Page) (staffapi.AnnouncementList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.AnnouncementList{}, err
	}
	before, err := pg.before()
	if err != nil {
		return staffapi.AnnouncementList{}, err
	}
	n := s.pageLimit(pg.Limit)
	rows, err := kit.ReadOne(ctx, s.st, func(q *staffdb.Queries) ([]staffdb.Announcement, error) {
		return q.ListAnnouncements(ctx, staffdb.ListAnnouncementsParams{TenantID: tenant, BeforeCreated: before.At, BeforeID: before.ID, Lim: int32(n + 1)})
	})
	if err != nil {
		return staffapi.AnnouncementList{}, fmt.Errorf("list announcements: %w", err)
	}
	out := staffapi.AnnouncementList{Items: make([]staffapi.Announcement, 0, min(len(rows), n))}
	for i, r := range rows {
		if i == n {
			out.NextCursor = kit.Cursor{At: rows[n-1].CreatedAt, ID: rows[n-1].ID}.String()
			break
		}
		out.Items = append(out.Items, toAnnouncement(r))
	}
	return out, nil
}

// Inbox lists the announcements for the calling staff member: those to
// everyone and to their role (the role of their token), newest first, each
// with whether they have read it.
func (s *Service) Inbox(ctx context.Context, pg Page) (staffapi.Inbox, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Inbox{}, err
	}
	p, err := caller(ctx, tenant)
	if err != nil {
		return staffapi.Inbox{}, err
	}
	if p.Kind != auth.KindStaff {
		return staffapi.Inbox{}, ErrNoEmployee
	}
	before, err := pg.before()
	if err != nil {
		return staffapi.Inbox{}, err
	}
	// Without an employee record nothing can have been read: "" matches no
	// receipt.
	var employeeID string
	if e, err := s.ownEmployee(ctx, tenant, p); err == nil {
		employeeID = e.ID
	} else if !errors.Is(err, ErrNoEmployee) {
		return staffapi.Inbox{}, err
	}
	n := s.pageLimit(pg.Limit)
	rows, err := kit.ReadOne(ctx, s.st, func(q *staffdb.Queries) ([]staffdb.ListAnnouncementsForRow, error) {
		return q.ListAnnouncementsFor(ctx, staffdb.ListAnnouncementsForParams{
			EmployeeID: employeeID, TenantID: tenant, Role: string(p.Role), BeforeCreated: before.At, BeforeID: before.ID, Lim: int32(n + 1),
		})
	})
	if err != nil {
		return staffapi.Inbox{}, fmt.Errorf("list announcements for %s: %w", p.Subject, err)
	}
	out := staffapi.Inbox{Items: make([]staffapi.InboxItem, 0, min(len(rows), n))}
	for i, r := range rows {
		if i == n {
			out.NextCursor = kit.Cursor{At: rows[n-1].CreatedAt, ID: rows[n-1].ID}.String()
			break
		}
		item := staffapi.InboxItem{Announcement: staffapi.Announcement{ID: r.ID, Title: r.Title, Body: r.Body,
			Audience: r.Audience, Author: r.Author, CreatedAt: sqldb.FromMicros(r.CreatedAt)}}
		if r.ReadAt.Valid {
			at := sqldb.FromMicros(r.ReadAt.Int64)
			item.Read, item.ReadAt = true, &at
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}

// MarkRead records that the calling staff member read an announcement for
// them. Repeats keep the first read time. An announcement not addressed to
// the caller is ErrAnnouncementNotFound, as one that does not exist.
func (s *Service) MarkRead(ctx context.Context, id string) (staffapi.InboxItem, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.InboxItem{}, err
	}
	p, err := caller(ctx, tenant)
	if err != nil {
		return staffapi.InboxItem{}, err
	}
	e, err := s.ownEmployee(ctx, tenant, p)
	if err != nil {
		return staffapi.InboxItem{}, err
	}
	var item staffapi.InboxItem
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *staffdb.Queries) error {
		r, err := q.GetAnnouncement(ctx, staffdb.GetAnnouncementParams{TenantID: tenant, ID: id})
		if errors.Is(err, sql.ErrNoRows) || (err == nil && r.Audience != staffapi.AudienceAll && r.Audience != string(p.Role)) {
			return ErrAnnouncementNotFound
		}
		if err != nil {
			return fmt.Errorf("load announcement %s: %w", id, err)
		}
		now := sqldb.Micros(storedTime(s.now()))
		readAt, err := q.MarkRead(ctx, staffdb.MarkReadParams{TenantID: tenant, AnnouncementID: id, EmployeeID: e.ID, ReadAt: now})
		if err != nil {
			return fmt.Errorf("mark announcement %s read: %w", id, err)
		}
		at := sqldb.FromMicros(readAt)
		item = staffapi.InboxItem{Announcement: toAnnouncement(r), Read: true, ReadAt: &at}
		return nil
	})
	if err != nil {
		return staffapi.InboxItem{}, fmt.Errorf("read announcement %s: %w", id, err)
	}
	return item, nil
}

// Receipts tells who of an announcement's audience (its active employees)
// has read it, and who has not.
func (s *Service) Receipts(ctx context.Context, id string) (staffapi.Receipts, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return staffapi.Receipts{}, err
	}
	var (
		a    staffdb.Announcement
		rows []staffdb.ReceiptsRow
	)
	err = s.st.Read(ctx, func(q *staffdb.Queries) error {
		var err error
		a, err = q.GetAnnouncement(ctx, staffdb.GetAnnouncementParams{TenantID: tenant, ID: id})
		if errors.Is(err, sql.ErrNoRows) {
			return ErrAnnouncementNotFound
		}
		if err != nil {
			return fmt.Errorf("load announcement %s: %w", id, err)
		}
		if rows, err = q.Receipts(ctx, staffdb.ReceiptsParams{AnnouncementID: id, TenantID: tenant, Audience: a.Audience}); err != nil {
			return fmt.Errorf("load receipts of %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return staffapi.Receipts{}, err
	}
	out := staffapi.Receipts{AnnouncementID: id, Audience: a.Audience, Read: []staffapi.Receipt{}, Unread: []staffapi.Receipt{}}
	for _, r := range rows {
		rc := staffapi.Receipt{EmployeeID: r.ID, Name: r.Name, Role: auth.Role(r.Role)}
		if r.ReadAt.Valid {
			at := sqldb.FromMicros(r.ReadAt.Int64)
			rc.ReadAt = &at
			out.Read = append(out.Read, rc)
			continue
		}
		out.Unread = append(out.Unread, rc)
	}
	slices.SortStableFunc(out.Read, func(a, b staffapi.Receipt) int { return a.ReadAt.Compare(*b.ReadAt) })
	return out, nil
}
