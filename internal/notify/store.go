package notify

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/notify/notifydb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

// The SQL lives in queries/*.sql and is compiled by sqlc into notifydb
// (`go tool sqlc generate -f internal/notify/sqlc.yaml`).

func itoa(i int) string { return strconv.Itoa(i) }

func toSubscription(r notifydb.WebhookSubscription, types []string) notifyapi.Subscription {
	if types == nil {
		types = []string{}
	}
	sub := notifyapi.Subscription{ID: r.ID, URL: r.Url, Description: r.Description, EventTypes: types,
		Enabled: r.Enabled, DisabledReason: r.DisabledReason,
		CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt)}
	if r.FailingSince.Valid {
		t := sqldb.FromMicros(r.FailingSince.Int64)
		sub.FailingSince = &t
	}
	return sub
}

func toDelivery(r notifydb.WebhookDelivery) notifyapi.Delivery {
	d := notifyapi.Delivery{ID: r.ID, SubscriptionID: r.SubscriptionID, EventID: r.EventID, EventType: r.EventType,
		Status: r.Status, Attempts: int(r.Attempts), LastStatus: int(r.LastStatus),
		CreatedAt: sqldb.FromMicros(r.CreatedAt), UpdatedAt: sqldb.FromMicros(r.UpdatedAt)}
	if r.Status == notifyapi.StatusPending {
		t := sqldb.FromMicros(r.NextAttemptAt)
		d.NextAttemptAt = &t
	}
	return d
}

func toAttempt(r notifydb.WebhookAttempt) notifyapi.Attempt {
	a := notifyapi.Attempt{ID: r.ID, AttemptedAt: sqldb.FromMicros(r.AttemptedAt),
		DurationMillis: float64(r.DurationMicros) / float64(time.Millisecond/time.Microsecond),
		URL:            r.Url, ResponseStatus: int(r.ResponseStatus), ResponseBody: r.ResponseBody, Error: r.Error}
	_ = json.Unmarshal([]byte(r.RequestHeaders), &a.RequestHeaders)
	return a
}

// newestFirst reads one page of a list ordered by ID, newest first: read
// gets the ID to list before (from cursor) and one more than the page
// size as its limit; the answer is the page's items, converted, and the
// next page's cursor ("" on the last).
func newestFirst[R, T any](ctx context.Context, s *Service, cursor string, limit int,
	read func(q *notifydb.Queries, before string, lim int32) ([]R, error), id func(R) string, conv func(R) T) ([]T, string, error) {
	before := kit.Cursor{ID: "\U0010FFFF"}
	if cursor != "" {
		var err error
		if before, err = kit.ParseCursor(cursor); err != nil {
			return nil, "", err
		}
	}
	n := s.cfg.Paging.Size(limit)
	items, next := []T{}, ""
	err := s.st.Read(ctx, func(q *notifydb.Queries) error {
		rows, err := read(q, before.ID, int32(n+1))
		if err != nil {
			return err
		}
		items, next = items[:0], ""
		if len(rows) > n {
			rows = rows[:n]
			next = kit.Cursor{ID: id(rows[n-1])}.String()
		}
		for _, r := range rows {
			items = append(items, conv(r))
		}
		return nil
	})
	return items, next, err
}
