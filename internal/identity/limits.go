package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/mercato/mercato/internal/identity/identitydb"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// The plan's staff limit counts staff accounts, owner included. A seat is
// taken by an active account or by an open invitation (one that may still
// become an account); a deactivated account, an accepted invitation (now
// an account) and an expired one take none. Inviting needs a seat beyond
// accounts and open invitations; accepting needs one beyond accounts only,
// since its invitation held it. Signup's owner (CreateOwner) is never
// refused: a store without an owner is of no use to anyone.

// roomForStaff checks, in the write transaction, that the store may have
// one more staff account under limits (nil: no limit), counting its open
// invitations too when invitations is set. The lock row makes concurrent
// invitations and acceptances of one store take turns, so the counts are
// not stale by the time the row is inserted. It takes the quota lock before
// the staff guard (insertStaff, for owners); nothing takes them the other
// way round, so the two cannot deadlock.
func (s *Service) roomForStaff(ctx context.Context, q *identitydb.Queries, tenant string, limits *tenantapi.Limits, now time.Time, invitations bool) error {
	if limits == nil {
		return nil
	}
	if err := q.LockStaffQuota(ctx, identitydb.LockStaffQuotaParams{TenantID: tenant, TouchedAt: sqldb.Micros(now)}); err != nil {
		return fmt.Errorf("lock staff quota: %w", err)
	}
	n, err := q.CountActiveStaff(ctx, tenant)
	if err != nil {
		return fmt.Errorf("count staff: %w", err)
	}
	if invitations {
		open, err := q.CountOpenInvitations(ctx, identitydb.CountOpenInvitationsParams{TenantID: tenant, Now: sqldb.Micros(now)})
		if err != nil {
			return fmt.Errorf("count invitations: %w", err)
		}
		n += open
	}
	return tenantapi.CheckLimit(*limits, tenantapi.ResourceStaff, n)
}
