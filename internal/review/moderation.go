package review

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
	"github.com/mercato/mercato/internal/review/reviewapi"
	"github.com/mercato/mercato/internal/review/reviewdb"
)

// The moderation actions of staff, and the statuses each applies to.
// Repeating the action on a review already in its target status changes
// nothing (a double click); any other status is ErrTransition.
var moderations = map[reviewapi.Status][]reviewapi.Status{
	// approve publishes a pending review, or brings back a rejected or
	// hidden one.
	reviewapi.StatusPublished: {reviewapi.StatusPending, reviewapi.StatusRejected, reviewapi.StatusHidden},
	// reject refuses a review never shown (hide takes a shown one down).
	reviewapi.StatusRejected: {reviewapi.StatusPending},
	// hide takes a published review down.
	reviewapi.StatusHidden: {reviewapi.StatusPublished},
}

// Moderate moves review id to status to (published: approve; rejected;
// hidden) for staff member by, keeping reason (required to reject or
// hide) with the review.
func (s *Service) Moderate(ctx context.Context, id string, to reviewapi.Status, reason, by string) (reviewapi.Review, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return reviewapi.Review{}, err
	}
	from, ok := moderations[to]
	if !ok {
		return reviewapi.Review{}, fmt.Errorf("review: no moderation to %q", to)
	}
	reason = strings.TrimSpace(reason)
	if err := text.Lines(reason, reviewapi.MaxReason, to != reviewapi.StatusPublished); err != nil {
		return reviewapi.Review{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "reason", Message: err.Error()})
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out reviewdb.Review
	err = s.store.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *reviewdb.Queries) error {
		prev, err := lockReview(ctx, q, tenant, id)
		if err != nil {
			return err
		}
		if reviewapi.Status(prev.Status) == to {
			out = prev
			return nil
		}
		allowed := false
		for _, f := range from {
			allowed = allowed || reviewapi.Status(prev.Status) == f
		}
		if !allowed {
			return fmt.Errorf("%w: a %s review cannot become %s", ErrTransition, prev.Status, to)
		}
		next := prev
		next.Status, next.Reason, next.ModeratedBy = string(to), reason, by
		next.ModeratedAt, next.UpdatedAt = sqldb.NullMicros(&now), sqldb.Micros(now)
		if to == reviewapi.StatusPublished {
			next.PublishedAt = sqldb.NullMicros(&now)
		}
		if err := writeReview(ctx, q, next); err != nil {
			return err
		}
		out = next
		return s.announce(ctx, tx, q, prev, next, now)
	})
	if err != nil {
		return reviewapi.Review{}, err
	}
	return ownView(out), nil
}

// Reply sets the store's public answer to review id; an empty body removes
// it.
func (s *Service) Reply(ctx context.Context, id, body string) (reviewapi.Review, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return reviewapi.Review{}, err
	}
	body = strings.TrimSpace(body)
	if err := text.Lines(body, reviewapi.MaxReply, false); err != nil {
		return reviewapi.Review{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "body", Message: err.Error()})
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out reviewdb.Review
	err = s.store.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *reviewdb.Queries) error {
		r, err := lockReview(ctx, q, tenant, id)
		if err != nil {
			return err
		}
		r.Reply, r.RepliedAt, r.UpdatedAt = body, sqldb.NullMicros(&now), sqldb.Micros(now)
		if body == "" {
			r.RepliedAt = sql.NullInt64{}
		}
		out = r
		return writeReview(ctx, q, r)
	})
	if err != nil {
		return reviewapi.Review{}, err
	}
	return ownView(out), nil
}

// AdminReview returns review id as staff see it.
func (s *Service) AdminReview(ctx context.Context, id string) (reviewapi.Review, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return reviewapi.Review{}, err
	}
	r, err := kit.ReadOne(ctx, s.store, func(q *reviewdb.Queries) (reviewdb.Review, error) {
		return q.GetReview(ctx, reviewdb.GetReviewParams{TenantID: tenant, ID: id})
	})
	if errors.Is(err, sql.ErrNoRows) {
		return reviewapi.Review{}, ErrNotFound
	}
	if err != nil {
		return reviewapi.Review{}, fmt.Errorf("load review %s: %w", id, err)
	}
	return ownView(r), nil
}

// Settings returns the store's review settings (publish at once when it
// saved none).
func (s *Service) Settings(ctx context.Context) (reviewapi.Settings, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return reviewapi.Settings{}, err
	}
	m, err := kit.ReadOne(ctx, s.store, func(q *reviewdb.Queries) (reviewapi.Moderation, error) {
		return moderation(ctx, q, tenant)
	})
	return reviewapi.Settings{Moderation: m}, err
}

// PutSettings replaces the store's review settings. Reviews already
// written keep their status.
func (s *Service) PutSettings(ctx context.Context, in reviewapi.Settings) (reviewapi.Settings, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return reviewapi.Settings{}, err
	}
	if in.Moderation != reviewapi.ModerationPublish && in.Moderation != reviewapi.ModerationApprove {
		return reviewapi.Settings{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "moderation", Message: "must be publish or approve", Value: in.Moderation})
	}
	now := s.now()
	err = s.store.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *reviewdb.Queries) error {
		return q.PutSettings(ctx, reviewdb.PutSettingsParams{TenantID: tenant, Moderation: string(in.Moderation), UpdatedAt: sqldb.Micros(now)})
	})
	if err != nil {
		return reviewapi.Settings{}, fmt.Errorf("save review settings: %w", err)
	}
	return in, nil
}

// moderation is the store's rule, publish when it saved none.
func moderation(ctx context.Context, q *reviewdb.Queries, tenant string) (reviewapi.Moderation, error) {
	st, err := q.GetSettings(ctx, tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return reviewapi.ModerationPublish, nil
	}
	if err != nil {
		return "", fmt.Errorf("load review settings: %w", err)
	}
	return reviewapi.Moderation(st.Moderation), nil
}

// newStatus is the status of a review its author created or edited, from
// its status before (empty for a new one): pending in a store that approves
// reviews first, and after staff rejected or hid it (they decide again);
// published otherwise.
func (s *Service) newStatus(ctx context.Context, q *reviewdb.Queries, tenant string, prev reviewapi.Status) (reviewapi.Status, error) {
	m, err := moderation(ctx, q, tenant)
	if err != nil {
		return "", err
	}
	if m == reviewapi.ModerationApprove || prev == reviewapi.StatusRejected || prev == reviewapi.StatusHidden {
		return reviewapi.StatusPending, nil
	}
	return reviewapi.StatusPublished, nil
}

// lockReview loads review id locked for a change.
func lockReview(ctx context.Context, q *reviewdb.Queries, tenant, id string) (reviewdb.Review, error) {
	r, err := q.LockReview(ctx, reviewdb.LockReviewParams{TenantID: tenant, ID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return reviewdb.Review{}, ErrNotFound
	}
	if err != nil {
		return reviewdb.Review{}, fmt.Errorf("load review %s: %w", id, err)
	}
	return r, nil
}

// average is sum/count rounded to two decimals; 0 for no reviews.
func average(sum, count int64) float64 {
	if count == 0 {
		return 0
	}
	return math.Round(float64(sum)*100/float64(count)) / 100
}
