package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/identity/identitydb"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// Staff rules, beyond the per-operation role table in http.go (which the
// platform enforces): only an owner invites, makes, demotes or deactivates
// an owner; the last active owner can be neither demoted nor deactivated.
// The admin token (KindAdmin) may do anything an owner may.

// isOwner reports whether the actor has owner powers.
func isOwner(actor auth.Principal) bool {
	return actor.Kind == auth.KindAdmin || (actor.Kind == auth.KindStaff && actor.Role == auth.RoleOwner)
}

// Invite creates a staff invitation with a role and announces it
// (identity.staff_invited.v1, with the raw token for the email). The raw
// token is returned once; only its hash is stored. Under a plan limit the
// invitation takes a seat (see limits.go): a *tenantapi.LimitError when
// none is left.
func (s *Service) Invite(ctx context.Context, actor auth.Principal, in identityapi.InvitationCreate) (identityapi.Invitation, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Invitation{}, err
	}
	email, err := normalizeEmail("email", in.Email)
	if err != nil {
		return identityapi.Invitation{}, err
	}
	role := auth.Role(in.Role)
	if !auth.ValidStaffRole(role) {
		return identityapi.Invitation{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "role", Message: "must be owner, manager, staff or support", Value: in.Role})
	}
	if err := texts(checkText("name", in.Name, identityapi.MaxNameLength, false)); err != nil {
		return identityapi.Invitation{}, err
	}
	if role == auth.RoleOwner && !isOwner(actor) {
		return identityapi.Invitation{}, fmt.Errorf("%w: only an owner can invite an owner", ErrForbidden)
	}
	limits, err := tenantapi.ReadLimits(ctx, s.limits, tenantapi.ResourceStaff, ErrLimitsUnavailable)
	if err != nil {
		return identityapi.Invitation{}, fmt.Errorf("invite staff: %w", err)
	}
	raw := newSecret()
	now := s.now()
	inv := identityapi.Invitation{ID: kit.NewID(), Email: email, Role: in.Role, Name: in.Name, Token: raw, ExpiresAt: now.Add(s.cfg.InviteTTL).UTC()}
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *identitydb.Queries) error {
		_, err := q.GetStaffByEmail(ctx, identitydb.GetStaffByEmailParams{TenantID: tenant, Email: email})
		if err == nil {
			return emailTaken()
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("load staff: %w", err)
		}
		if err := s.roomForStaff(ctx, q, tenant, limits, now, true); err != nil {
			return err
		}
		if err := q.InsertInvitation(ctx, identitydb.InsertInvitationParams{TenantID: tenant, ID: inv.ID, TokenHash: tokenHash(raw),
			Email: email, Name: in.Name, Role: in.Role, InvitedBy: actor.Subject, ExpiresAt: sqldb.Micros(inv.ExpiresAt), CreatedAt: sqldb.Micros(now)}); err != nil {
			return fmt.Errorf("store invitation: %w", err)
		}
		return addEvent(ctx, tx, identityapi.SubjectStaffInvited, now, identityapi.StaffInvited{InvitationID: inv.ID, Email: email,
			Name: in.Name, Role: in.Role, Token: raw, ExpiresAt: inv.ExpiresAt, InvitedBy: actor.Subject})
	})
	if err != nil {
		return identityapi.Invitation{}, fmt.Errorf("invite staff: %w", err)
	}
	return inv, nil
}

// AcceptInvitation creates the invited staff account with the invitation's
// email and role, uses the invitation up and signs the new member in. Under
// a plan limit it fails with a *tenantapi.LimitError when the active staff
// already fill the plan: rare, since the invitation held a seat, but the
// plan may have shrunk since, or the invitation predate the limit.
func (s *Service) AcceptInvitation(ctx context.Context, in identityapi.InvitationAccept) (identityapi.StaffSession, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.StaffSession{}, err
	}
	hash := tokenHash(in.Token)
	inv, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.Invitation, error) {
		return q.GetInvitationByToken(ctx, identitydb.GetInvitationByTokenParams{TenantID: tenant, TokenHash: hash})
	})
	if err != nil {
		return identityapi.StaffSession{}, noRows(err, badToken(ErrInvalidInvitation), "load invitation")
	}
	if inv.AcceptedAt.Valid || inv.ExpiresAt <= sqldb.Micros(s.now()) {
		return identityapi.StaffSession{}, badToken(ErrInvalidInvitation)
	}
	if err := texts(checkText("name", in.Name, identityapi.MaxNameLength, true)); err != nil {
		return identityapi.StaffSession{}, err
	}
	if err := s.checkNewPassword("password", in.Password, inv.Email); err != nil {
		return identityapi.StaffSession{}, err
	}
	limits, err := tenantapi.ReadLimits(ctx, s.limits, tenantapi.ResourceStaff, ErrLimitsUnavailable)
	if err != nil {
		return identityapi.StaffSession{}, fmt.Errorf("accept invitation: %w", err)
	}
	pw := hashPassword(in.Password, s.cfg.Argon2)
	var out identityapi.StaffSession
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		now := s.now()
		inv, err := q.UseInvitation(ctx, identitydb.UseInvitationParams{Now: sqldb.NullMicros(&now), TenantID: tenant, TokenHash: hash})
		if err != nil {
			return noRows(err, badToken(ErrInvalidInvitation), "use invitation")
		}
		// A refusal rolls the use back: the invitation stays open, to be
		// accepted once a seat is free.
		if err := s.roomForStaff(ctx, q, tenant, limits, now, false); err != nil {
			return err
		}
		m, err := s.insertStaff(ctx, q, tenant, inv.Email, in.Name, auth.Role(inv.Role), pw)
		if err != nil {
			return err
		}
		tok, err := s.issue(ctx, q, tenant, account{kind: auth.KindStaff, id: m.ID, role: auth.Role(m.Role)}, "", "")
		out = identityapi.StaffSession{Staff: toStaff(m), Tokens: tok}
		return err
	})
	if err != nil {
		return identityapi.StaffSession{}, fmt.Errorf("accept invitation: %w", err)
	}
	return out, nil
}

// insertStaff adds an active staff account in q's transaction. Adding an
// owner takes the tenant's staff guard first.
func (s *Service) insertStaff(ctx context.Context, q *identitydb.Queries, tenant, email, name string, role auth.Role, hash string) (identitydb.Staff, error) {
	if role == auth.RoleOwner {
		if err := q.LockStaffGuard(ctx, tenant); err != nil {
			return identitydb.Staff{}, fmt.Errorf("lock staff guard: %w", err)
		}
	}
	now := sqldb.Micros(s.now())
	m := identitydb.Staff{TenantID: tenant, ID: kit.NewID(), Email: email, Name: name, Role: string(role),
		Status: identityapi.StatusActive, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err := q.InsertStaff(ctx, identitydb.InsertStaffParams(m))
	if sqldb.IsUniqueViolation(err) {
		return identitydb.Staff{}, emailTaken()
	}
	if err != nil {
		return identitydb.Staff{}, fmt.Errorf("insert staff: %w", err)
	}
	return m, nil
}

// CreateOwner creates the first owner of the tenant in ctx (the tenant
// service calls it at signup) and signs them in. It fails with
// ErrOwnerExists once the tenant has an owner.
func (s *Service) CreateOwner(ctx context.Context, in identityapi.OwnerCreate) (identityapi.OwnerTokens, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.OwnerTokens{}, err
	}
	email, err := s.checkNewAccount(in.Email, in.Name, in.Password)
	if err != nil {
		return identityapi.OwnerTokens{}, err
	}
	// A cheap early answer for a repeat; the check under the guard below
	// is the one that counts.
	exists, err := s.OwnerExists(ctx)
	if err != nil {
		return identityapi.OwnerTokens{}, fmt.Errorf("create owner: %w", err)
	}
	if exists {
		return identityapi.OwnerTokens{}, ErrOwnerExists
	}
	pw := hashPassword(in.Password, s.cfg.Argon2)
	var out identityapi.OwnerTokens
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		// The guard serialises concurrent signups; the count under it is
		// the final word.
		if err := q.LockStaffGuard(ctx, tenant); err != nil {
			return fmt.Errorf("lock staff guard: %w", err)
		}
		n, err := q.OwnerExists(ctx, tenant)
		if err != nil {
			return fmt.Errorf("count owners: %w", err)
		}
		if n > 0 {
			return ErrOwnerExists
		}
		m, err := s.insertStaff(ctx, q, tenant, email, in.Name, auth.RoleOwner, pw)
		if err != nil {
			return err
		}
		tok, err := s.issue(ctx, q, tenant, account{kind: auth.KindStaff, id: m.ID, role: auth.RoleOwner}, "", "")
		out = identityapi.OwnerTokens{Staff: toStaff(m), Tokens: tok}
		return err
	})
	if err != nil {
		return identityapi.OwnerTokens{}, fmt.Errorf("create owner: %w", err)
	}
	s.log.InfoContext(ctx, "store owner created", "tenant", tenant, "staff_id", out.Staff.ID)
	return out, nil
}

// OwnerExists reports whether the tenant in ctx has an owner, active or
// not: once it has had one, the bootstrap admin token is retired for it.
func (s *Service) OwnerExists(ctx context.Context) (bool, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return false, err
	}
	n, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (int64, error) { return q.OwnerExists(ctx, tenant) })
	if err != nil {
		return false, fmt.Errorf("count owners: %w", err)
	}
	return n > 0, nil
}

// Staff returns a staff account of the tenant in ctx, or ErrNotFound.
func (s *Service) Staff(ctx context.Context, id string) (identityapi.Staff, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Staff{}, err
	}
	row, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) (identitydb.Staff, error) {
		return q.GetStaff(ctx, identitydb.GetStaffParams{TenantID: tenant, ID: id})
	})
	if err != nil {
		return identityapi.Staff{}, noRows(err, ErrNotFound, "load staff")
	}
	return toStaff(row), nil
}

// ListStaff returns the tenant's staff, oldest first.
func (s *Service) ListStaff(ctx context.Context) (identityapi.StaffList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.StaffList{}, err
	}
	rows, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) ([]identitydb.Staff, error) { return q.ListStaff(ctx, tenant) })
	if err != nil {
		return identityapi.StaffList{}, fmt.Errorf("list staff: %w", err)
	}
	out := identityapi.StaffList{Items: make([]identityapi.Staff, len(rows))}
	for i, r := range rows {
		out.Items[i] = toStaff(r)
	}
	return out, nil
}

// changeStaff loads a staff member under the tenant's staff guard, lets
// change decide the new row (returning false for no change), and checks
// that an active owner remains.
func (s *Service) changeStaff(ctx context.Context, id string, change func(m *identitydb.Staff) (bool, error),
	apply func(ctx context.Context, tx *sql.Tx, q *identitydb.Queries, old, m identitydb.Staff) error) (identityapi.Staff, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Staff{}, err
	}
	var out identitydb.Staff
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *identitydb.Queries) error {
		if err := q.LockStaffGuard(ctx, tenant); err != nil {
			return fmt.Errorf("lock staff guard: %w", err)
		}
		old, err := q.GetStaff(ctx, identitydb.GetStaffParams{TenantID: tenant, ID: id})
		if err != nil {
			return noRows(err, ErrNotFound, "load staff")
		}
		m := old
		changed, err := change(&m)
		if err != nil || !changed {
			out = old
			return err
		}
		m.UpdatedAt = sqldb.Micros(s.now())
		if err := apply(ctx, tx, q, old, m); err != nil {
			return err
		}
		if old.Role == string(auth.RoleOwner) && old.Status == identityapi.StatusActive {
			n, err := q.CountActiveOwners(ctx, tenant)
			if err != nil {
				return fmt.Errorf("count owners: %w", err)
			}
			if n == 0 {
				return ErrLastOwner
			}
		}
		out = m
		return nil
	})
	if err != nil {
		return identityapi.Staff{}, err
	}
	return toStaff(out), nil
}

// ChangeRole gives a staff member another role. Who may call it at all is
// the access table's say (owners); whoever does, only an owner gives or
// takes the owner role. The new role is in the member's tokens from their
// next refresh.
func (s *Service) ChangeRole(ctx context.Context, actor auth.Principal, id, role string) (identityapi.Staff, error) {
	if !auth.ValidStaffRole(auth.Role(role)) {
		return identityapi.Staff{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "role", Message: "must be owner, manager, staff or support", Value: role})
	}
	if role == string(auth.RoleOwner) && !isOwner(actor) {
		return identityapi.Staff{}, fmt.Errorf("%w: only an owner can make an owner", ErrForbidden)
	}
	m, err := s.changeStaff(ctx, id, func(m *identitydb.Staff) (bool, error) {
		if m.Role == string(auth.RoleOwner) && !isOwner(actor) {
			return false, fmt.Errorf("%w: only an owner can change an owner's role", ErrForbidden)
		}
		if m.Role == role {
			return false, nil
		}
		m.Role = role
		return true, nil
	}, func(ctx context.Context, tx *sql.Tx, q *identitydb.Queries, old, m identitydb.Staff) error {
		if _, err := q.SetStaffRole(ctx, identitydb.SetStaffRoleParams{Role: m.Role, UpdatedAt: m.UpdatedAt, TenantID: m.TenantID, ID: m.ID}); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		return addEvent(ctx, tx, identityapi.SubjectStaffRoleChanged, sqldb.FromMicros(m.UpdatedAt), identityapi.StaffRoleChanged{
			StaffID: m.ID, Email: m.Email, OldRole: old.Role, NewRole: m.Role})
	})
	if err != nil {
		return identityapi.Staff{}, fmt.Errorf("change role of staff %s: %w", id, err)
	}
	return m, nil
}

// Deactivate deactivates a staff account (owners and managers; a manager
// cannot deactivate an owner): it can no longer log in and every session
// of it is revoked. Deactivating a deactivated account changes nothing.
func (s *Service) Deactivate(ctx context.Context, actor auth.Principal, id string) (identityapi.Staff, error) {
	m, err := s.changeStaff(ctx, id, func(m *identitydb.Staff) (bool, error) {
		if m.Role == string(auth.RoleOwner) && !isOwner(actor) {
			return false, fmt.Errorf("%w: only an owner can deactivate an owner", ErrForbidden)
		}
		if m.Status == identityapi.StatusDeactivated {
			return false, nil
		}
		m.Status = identityapi.StatusDeactivated
		return true, nil
	}, func(ctx context.Context, tx *sql.Tx, q *identitydb.Queries, _, m identitydb.Staff) error {
		if _, err := q.SetStaffStatus(ctx, identitydb.SetStaffStatusParams{Status: m.Status, UpdatedAt: m.UpdatedAt, TenantID: m.TenantID, ID: m.ID}); err != nil {
			return fmt.Errorf("set status: %w", err)
		}
		if err := s.revokeAccount(ctx, q, m.TenantID, auth.KindStaff, m.ID); err != nil {
			return err
		}
		return addEvent(ctx, tx, identityapi.SubjectStaffDeactivated, sqldb.FromMicros(m.UpdatedAt), identityapi.StaffDeactivated{StaffID: m.ID, Email: m.Email})
	})
	if err != nil {
		return identityapi.Staff{}, fmt.Errorf("deactivate staff %s: %w", id, err)
	}
	return m, nil
}
