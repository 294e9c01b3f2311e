package notify

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/invoice/invoiceapi"
	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/notify/notifydb"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// EventTypes are the event types a store may subscribe to, sorted: what
// happens to its orders, payments, products and stock. Customer and staff
// events are left out: they carry personal data a webhook need not spread.
var EventTypes = sorted(
	orderapi.SubjectConfirmed, orderapi.SubjectCancelled, orderapi.SubjectShipped, orderapi.SubjectDelivered,
	orderapi.SubjectRefunded, orderapi.SubjectReturnRequested, orderapi.SubjectReturnReceived,
	paymentapi.SubjectAuthorized, paymentapi.SubjectCaptured, paymentapi.SubjectRefunded,
	paymentapi.SubjectFailed, paymentapi.SubjectVoided,
	catalogapi.SubjectProductCreated, catalogapi.SubjectProductUpdated, catalogapi.SubjectProductArchived,
	inventoryapi.SubjectStockLow, inventoryapi.SubjectStockAdjusted,
	invoiceapi.SubjectIssued, invoiceapi.SubjectCreditNoteIssued,
)

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// checkEventTypes returns the event types deduplicated, or the field errors
// of those no store may subscribe to.
func checkEventTypes(types []string) ([]string, []kit.FieldError) {
	var bad []kit.FieldError
	out := make([]string, 0, len(types))
	for i, t := range types {
		if !slices.Contains(EventTypes, t) {
			bad = append(bad, kit.FieldError{Field: "event_types[" + itoa(i) + "]", Message: "is not an event type a store may subscribe to (GET /api/v1/admin/webhooks/event-types)", Value: t})
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 && len(bad) == 0 {
		bad = append(bad, kit.FieldError{Field: "event_types", Message: "must name at least one event type"})
	}
	slices.Sort(out)
	return out, bad
}

// checkTarget checks a subscription's URL.
func (s *Service) checkTarget(raw string) []kit.FieldError {
	if err := checkURL(raw, s.cfg.AllowPrivate); err != nil {
		return []kit.FieldError{{Field: "url", Message: err.Error(), Value: raw}}
	}
	return nil
}

// invalid is kit.Invalid with the service's error, telling a forbidden
// target apart so that it gets its own code.
func (s *Service) invalid(raw string, fields []kit.FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	if errors.Is(checkURL(raw, s.cfg.AllowPrivate), ErrForbiddenTarget) {
		return kit.Invalid(ErrForbiddenTarget, fields...)
	}
	return kit.Invalid(ErrInvalid, fields...)
}

// CreateSubscription adds a webhook subscription with a new signing secret,
// which the answer carries (and no later one).
func (s *Service) CreateSubscription(ctx context.Context, in notifyapi.SubscriptionCreate) (notifyapi.Subscription, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return notifyapi.Subscription{}, err
	}
	types, bad := checkEventTypes(in.EventTypes)
	bad = append(s.checkTarget(in.URL), bad...)
	if err := s.invalid(in.URL, bad); err != nil {
		return notifyapi.Subscription{}, err
	}
	now := sqldb.Micros(s.now())
	row := notifydb.WebhookSubscription{TenantID: tenant, ID: kit.NewID(), Url: in.URL, Description: in.Description,
		Secret: newSecret(), Enabled: true, CreatedAt: now, UpdatedAt: now}
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *notifydb.Queries) error {
		if err := q.InsertSubscription(ctx, notifydb.InsertSubscriptionParams{TenantID: tenant, ID: row.ID, Url: row.Url,
			Description: row.Description, Secret: row.Secret, Enabled: true, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return setEventTypes(ctx, q, tenant, row.ID, types)
	})
	if err != nil {
		return notifyapi.Subscription{}, err
	}
	sub := toSubscription(row, types)
	sub.Secret = row.Secret
	return sub, nil
}

func setEventTypes(ctx context.Context, q *notifydb.Queries, tenant, id string, types []string) error {
	if err := q.DeleteSubscriptionEvents(ctx, notifydb.DeleteSubscriptionEventsParams{TenantID: tenant, SubscriptionID: id}); err != nil {
		return err
	}
	for _, t := range types {
		if err := q.InsertSubscriptionEvent(ctx, notifydb.InsertSubscriptionEventParams{TenantID: tenant, SubscriptionID: id, EventType: t}); err != nil {
			return err
		}
	}
	return nil
}

// Subscription returns one subscription, without its secret.
func (s *Service) Subscription(ctx context.Context, id string) (notifyapi.Subscription, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return notifyapi.Subscription{}, err
	}
	var out notifyapi.Subscription
	err = s.st.Read(ctx, func(q *notifydb.Queries) error {
		out, err = loadSubscription(ctx, q, tenant, id)
		return err
	})
	return out, err
}

func loadSubscription(ctx context.Context, q *notifydb.Queries, tenant, id string) (notifyapi.Subscription, error) {
	row, err := q.GetSubscription(ctx, notifydb.GetSubscriptionParams{TenantID: tenant, ID: id})
	if errors.Is(err, sql.ErrNoRows) {
		return notifyapi.Subscription{}, ErrSubscriptionNotFound
	}
	if err != nil {
		return notifyapi.Subscription{}, err
	}
	types, err := q.SubscriptionEvents(ctx, notifydb.SubscriptionEventsParams{TenantID: tenant, SubscriptionID: id})
	if err != nil {
		return notifyapi.Subscription{}, err
	}
	return toSubscription(row, types), nil
}

// Subscriptions lists the store's subscriptions in creation order.
func (s *Service) Subscriptions(ctx context.Context, limit int, cursor string) (notifyapi.SubscriptionList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return notifyapi.SubscriptionList{}, err
	}
	var after kit.Cursor
	if cursor != "" {
		if after, err = kit.ParseCursor(cursor); err != nil {
			return notifyapi.SubscriptionList{}, err
		}
	}
	n := s.cfg.Paging.Size(limit)
	out := notifyapi.SubscriptionList{Items: []notifyapi.Subscription{}}
	err = s.st.Read(ctx, func(q *notifydb.Queries) error {
		rows, err := q.ListSubscriptions(ctx, notifydb.ListSubscriptionsParams{TenantID: tenant, After: after.ID, Lim: int32(n + 1)})
		if err != nil {
			return err
		}
		out.Items = out.Items[:0]
		out.NextCursor = ""
		if len(rows) > n {
			rows = rows[:n]
			out.NextCursor = kit.Cursor{ID: rows[n-1].ID}.String()
		}
		for _, r := range rows {
			types, err := q.SubscriptionEvents(ctx, notifydb.SubscriptionEventsParams{TenantID: tenant, SubscriptionID: r.ID})
			if err != nil {
				return err
			}
			out.Items = append(out.Items, toSubscription(r, types))
		}
		return nil
	})
	return out, err
}

// UpdateSubscription changes what in sets. Enabling forgets past failures.
func (s *Service) UpdateSubscription(ctx context.Context, id string, in notifyapi.SubscriptionUpdate) (notifyapi.Subscription, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return notifyapi.Subscription{}, err
	}
	var types []string
	var bad []kit.FieldError
	if in.EventTypes != nil {
		types, bad = checkEventTypes(*in.EventTypes)
	}
	if in.URL != nil {
		bad = append(s.checkTarget(*in.URL), bad...)
		if err := s.invalid(*in.URL, bad); err != nil {
			return notifyapi.Subscription{}, err
		}
	}
	if err := kit.Invalid(ErrInvalid, bad...); err != nil {
		return notifyapi.Subscription{}, err
	}
	now := s.now()
	var out notifyapi.Subscription
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *notifydb.Queries) error {
		row, err := q.GetSubscription(ctx, notifydb.GetSubscriptionParams{TenantID: tenant, ID: id})
		if errors.Is(err, sql.ErrNoRows) {
			return ErrSubscriptionNotFound
		}
		if err != nil {
			return err
		}
		p := notifydb.UpdateSubscriptionParams{TenantID: tenant, ID: id, Url: row.Url, Description: row.Description,
			Enabled: row.Enabled, DisabledReason: row.DisabledReason, FailingSince: row.FailingSince, UpdatedAt: sqldb.Micros(now)}
		if in.URL != nil {
			p.Url = *in.URL
		}
		if in.Description != nil {
			p.Description = *in.Description
		}
		if in.Enabled != nil && *in.Enabled != row.Enabled {
			p.Enabled = *in.Enabled
			if p.Enabled {
				p.DisabledReason, p.FailingSince = "", sql.NullInt64{}
			} else {
				p.DisabledReason = "manual"
			}
		}
		if _, err := q.UpdateSubscription(ctx, p); err != nil {
			return err
		}
		if in.EventTypes != nil {
			if err := setEventTypes(ctx, q, tenant, id, types); err != nil {
				return err
			}
		}
		out, err = loadSubscription(ctx, q, tenant, id)
		return err
	})
	return out, err
}

// DeleteSubscription deletes a subscription with its deliveries and their log.
func (s *Service) DeleteSubscription(ctx context.Context, id string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *notifydb.Queries) error {
		n, err := q.DeleteSubscription(ctx, notifydb.DeleteSubscriptionParams{TenantID: tenant, ID: id})
		if err == nil && n == 0 {
			return ErrSubscriptionNotFound
		}
		return err
	})
}
