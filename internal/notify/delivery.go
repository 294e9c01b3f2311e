package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/notify/notifydb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// userAgent names the sender to receivers.
const userAgent = "Mercato-Webhooks/1"

// backoff is the wait after the n-th failed attempt (n >= 1): base doubled
// per further failure, capped at max, then moved by up to ±25% so that the
// retries of many deliveries that failed together spread out.
func backoff(n int, base, max time.Duration, jitter float64) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return time.Duration(float64(d) * (0.75 + 0.5*jitter))
}

// deliveries is the webhook deliveries' queue: cfg.Workers attempts at a
// time, a poll every cfg.Poll, and the hourly sweep of old deliveries.
func (s *Service) deliveries() queue {
	// The claim lasts past the attempt's time limit.
	return queue{what: "webhook delivery", workers: s.cfg.Workers, poll: s.cfg.Poll, wake: s.wake, lease: s.cfg.Timeout + time.Minute,
		due: func(ctx context.Context, q *notifydb.Queries, now int64, lim int32) ([]due, error) {
			rows, err := q.DueDeliveries(ctx, notifydb.DueDeliveriesParams{Now: now, Lim: lim})
			return dues(rows, func(r notifydb.DueDeliveriesRow) due { return due{tenant: r.TenantID, id: r.ID, seen: r.NextAttemptAt} }), err
		},
		claim: func(ctx context.Context, q *notifydb.Queries, d due, until int64) (int64, error) {
			return q.ClaimDelivery(ctx, notifydb.ClaimDeliveryParams{LeaseUntil: until, TenantID: d.tenant, ID: d.id, Seen: d.seen})
		},
		attempt: s.attempt,
		keep:    s.cfg.Keep,
		sweep: func(ctx context.Context, q *notifydb.Queries, cutoff int64) (int64, error) {
			return q.SweepDeliveries(ctx, cutoff)
		},
	}
}

// sweep deletes the finished deliveries, with their log, last attempted
// more than cfg.Keep before now.
func (s *Service) sweep(ctx context.Context, now time.Time) (int64, error) {
	return s.sweepQueue(ctx, s.deliveries(), now)
}

// attempt sends a claimed delivery once, logs the attempt, and decides
// what comes next: done, another attempt later, or failed; and whether the
// subscription has failed long enough to be disabled.
func (s *Service) attempt(ctx context.Context, id string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	var d notifydb.WebhookDelivery
	var sub notifydb.WebhookSubscription
	err = s.st.Read(ctx, func(q *notifydb.Queries) error {
		var err error
		if d, err = q.GetDelivery(ctx, notifydb.GetDeliveryParams{TenantID: tenant, ID: id}); err != nil {
			return err
		}
		sub, err = q.GetSubscription(ctx, notifydb.GetSubscriptionParams{TenantID: tenant, ID: d.SubscriptionID})
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	start := s.now()
	res := s.send(ctx, sub, d, start)
	end := s.now()
	ok := res.status >= 200 && res.status < 300

	next, status := end, notifyapi.StatusSucceeded
	if !ok {
		status = notifyapi.StatusPending
		next = end.Add(backoff(int(d.Attempts)+1, s.cfg.RetryBase, s.cfg.RetryMax, rand.Float64()))
		if next.After(sqldb.FromMicros(d.RetryUntil)) || !sub.Enabled {
			status = notifyapi.StatusFailed
		}
	}
	headers, _ := json.Marshal(res.headers)
	return s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *notifydb.Queries) error {
		if err := q.InsertAttempt(ctx, notifydb.InsertAttemptParams{TenantID: tenant, ID: kit.NewID(), DeliveryID: d.ID,
			AttemptedAt: sqldb.Micros(start), DurationMicros: end.Sub(start).Microseconds(), Url: sub.Url,
			RequestHeaders: string(headers), ResponseStatus: int64(res.status), ResponseBody: res.body, Error: res.err}); err != nil {
			return err
		}
		if _, err := q.FinishAttempt(ctx, notifydb.FinishAttemptParams{Status: status, NextAttemptAt: sqldb.Micros(next),
			LastStatus: int64(res.status), UpdatedAt: sqldb.Micros(end), TenantID: tenant, ID: d.ID}); err != nil {
			return err
		}
		switch {
		case ok:
			return q.MarkSubscriptionHealthy(ctx, notifydb.MarkSubscriptionHealthyParams{TenantID: tenant, ID: sub.ID})
		case !sub.Enabled:
			return nil // not sent: says nothing of the endpoint
		}
		return s.noteFailure(ctx, tx, q, sub, start, end)
	})
}

// noteFailure records that the subscription is failing since at (unless
// it was already) and disables it once it has failed for DisableAfter,
// announcing that in the same transaction.
func (s *Service) noteFailure(ctx context.Context, tx *sql.Tx, q *notifydb.Queries, sub notifydb.WebhookSubscription, at, now time.Time) error {
	if err := q.MarkSubscriptionFailing(ctx, notifydb.MarkSubscriptionFailingParams{FailingSince: sqldb.NullMicros(&at), TenantID: sub.TenantID, ID: sub.ID}); err != nil {
		return err
	}
	n, err := q.DisableFailingSubscription(ctx, notifydb.DisableFailingSubscriptionParams{UpdatedAt: sqldb.Micros(now),
		TenantID: sub.TenantID, ID: sub.ID, Cutoff: sql.NullInt64{Int64: sqldb.Micros(now.Add(-s.cfg.DisableAfter)), Valid: true}})
	if err != nil || n == 0 {
		return err
	}
	since := at
	if sub.FailingSince.Valid {
		since = sqldb.FromMicros(sub.FailingSince.Int64)
	}
	s.log.WarnContext(ctx, "webhook subscription disabled after failing", "subscription_id", sub.ID, "tenant", sub.TenantID)
	return outbox.AddEvent(ctx, tx, notifyapi.Source, notifyapi.SubjectWebhookDisabled, now, notifyapi.WebhookDisabled{
		SubscriptionID: sub.ID, URL: sub.Url, FailingSince: since.UTC(), DisabledAt: now.UTC()})
}

// result is the outcome of one request.
type result struct {
	headers map[string]string
	status  int
	body    string
	err     string
}

// send makes one signed request of d to sub's URL.
func (s *Service) send(ctx context.Context, sub notifydb.WebhookSubscription, d notifydb.WebhookDelivery, at time.Time) result {
	ts := fmt.Sprint(at.Unix())
	res := result{headers: map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        userAgent,
		"webhook-id":        d.ID,
		"webhook-timestamp": ts,
	}}
	if !sub.Enabled {
		res.err = "subscription disabled"
		return res
	}
	sig, err := sign(sub.Secret, d.ID, at, []byte(d.Body))
	if err != nil {
		res.err = err.Error()
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Url, strings.NewReader(d.Body))
	if err != nil {
		res.err = err.Error()
		return res
	}
	for k, v := range res.headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("webhook-signature", sig)
	// The log shows the signature's scheme, not the signature: it is
	// enough to tell a signed request, and a log is no place for MACs.
	res.headers["webhook-signature"] = "v1,…"
	resp, err := s.client.Do(req)
	if err != nil {
		res.err = attemptError(err)
		return res
	}
	defer resp.Body.Close()
	res.status = resp.StatusCode
	res.body = readExcerpt(resp.Body)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		res.err = "redirects are not followed"
	}
	return res
}

// attemptError is what the log says of a request that got no answer.
func attemptError(err error) string {
	switch {
	case errors.Is(err, ErrForbiddenTarget):
		msg := err.Error()
		if i := strings.Index(msg, ErrForbiddenTarget.Error()); i >= 0 {
			msg = msg[i:]
		}
		return "refused: " + msg
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	// Name the failure without the platform's own network (the resolver's
	// address, the local port): the log is the merchant's to read.
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return "lookup " + dns.Name + ": no such host"
		}
		return "lookup " + dns.Name + ": " + dns.Err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Op + ": " + op.Err.Error()
	}
	return err.Error()
}

// Delivery returns one delivery with its body and its log.
func (s *Service) Delivery(ctx context.Context, id string) (notifyapi.Delivery, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return notifyapi.Delivery{}, err
	}
	var out notifyapi.Delivery
	err = s.st.Read(ctx, func(q *notifydb.Queries) error {
		row, err := q.GetDelivery(ctx, notifydb.GetDeliveryParams{TenantID: tenant, ID: id})
		if errors.Is(err, sql.ErrNoRows) {
			return ErrDeliveryNotFound
		}
		if err != nil {
			return err
		}
		out = toDelivery(row)
		out.Body = row.Body
		atts, err := q.ListAttempts(ctx, notifydb.ListAttemptsParams{TenantID: tenant, DeliveryID: id})
		if err != nil {
			return err
		}
		out.Log = make([]notifyapi.Attempt, 0, len(atts))
		for _, a := range atts {
			out.Log = append(out.Log, toAttempt(a))
		}
		return nil
	})
	return out, err
}

// DeliveryQuery filters a list of deliveries; zero fields filter nothing.
type DeliveryQuery struct {
	SubscriptionID, Status, EventType string
	Limit                             int
	Cursor                            string
}

// Deliveries lists deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, dq DeliveryQuery) (notifyapi.DeliveryList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return notifyapi.DeliveryList{}, err
	}
	items, next, err := newestFirst(ctx, s, dq.Cursor, dq.Limit, func(q *notifydb.Queries, before string, lim int32) ([]notifydb.WebhookDelivery, error) {
		return q.ListDeliveries(ctx, notifydb.ListDeliveriesParams{TenantID: tenant, SubscriptionID: dq.SubscriptionID,
			Status: dq.Status, EventType: dq.EventType, Before: before, Lim: lim})
	}, func(r notifydb.WebhookDelivery) string { return r.ID }, toDelivery)
	return notifyapi.DeliveryList{Items: items, NextCursor: next}, err
}

// ReplayDelivery queues one delivery again, whatever its status: a new round
// of attempts, the first at once, with the same webhook-id and body.
func (s *Service) ReplayDelivery(ctx context.Context, id string) (notifyapi.Delivery, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return notifyapi.Delivery{}, err
	}
	now := s.now()
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *notifydb.Queries) error {
		n, err := q.ReplayDelivery(ctx, notifydb.ReplayDeliveryParams{Now: sqldb.Micros(now), RetryUntil: sqldb.Micros(now.Add(s.cfg.RetryFor)), TenantID: tenant, ID: id})
		if err == nil && n == 0 {
			return ErrDeliveryNotFound
		}
		return err
	})
	if err != nil {
		return notifyapi.Delivery{}, err
	}
	s.notifyWorker()
	return s.Delivery(ctx, id)
}

// Replay queues again the deliveries made in [from, to) that are not
// pending, optionally of one subscription and in one status.
func (s *Service) Replay(ctx context.Context, in notifyapi.Replay) (notifyapi.Replayed, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return notifyapi.Replayed{}, err
	}
	if !in.To.After(in.From) {
		return notifyapi.Replayed{}, kit.Invalid(ErrInvalid, kit.FieldError{Field: "to", Message: "must be after from", Value: in.To})
	}
	now := s.now()
	var n int64
	err = s.st.Write(ctx, func(ctx context.Context, tx *sql.Tx, q *notifydb.Queries) error {
		if in.SubscriptionID != "" {
			if _, err := q.GetSubscription(ctx, notifydb.GetSubscriptionParams{TenantID: tenant, ID: in.SubscriptionID}); errors.Is(err, sql.ErrNoRows) {
				return ErrSubscriptionNotFound
			} else if err != nil {
				return err
			}
		}
		var err error
		n, err = q.ReplayRange(ctx, notifydb.ReplayRangeParams{Now: sqldb.Micros(now), RetryUntil: sqldb.Micros(now.Add(s.cfg.RetryFor)),
			TenantID: tenant, FromAt: sqldb.Micros(in.From), ToAt: sqldb.Micros(in.To), SubscriptionID: in.SubscriptionID, Status: in.Status})
		return err
	})
	if err != nil {
		return notifyapi.Replayed{}, err
	}
	s.notifyWorker()
	return notifyapi.Replayed{Queued: n}, nil
}
