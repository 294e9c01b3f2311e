package notify

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/mercato/mercato/internal/notify/notifydb"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// due is a row of a work table (webhook deliveries, emails) whose attempt
// is due: seen is its next_attempt_at as read, which the claim compares.
type due struct {
	tenant, id string
	seen       int64
}

// queue is one of the service's work tables, worked the same way: due rows
// are found across tenants, each claimed by a conditional UPDATE of its due
// time to the end of a lease (so that a crash mid-attempt leaves the row
// due again, never lost), and attempted under its tenant, workers at a time.
type queue struct {
	// what names the work in logs ("webhook delivery", "email").
	what    string
	workers int
	poll    time.Duration
	wake    <-chan struct{}
	// lease is how long a claim lasts: past the attempt's time limit.
	lease time.Duration
	// due lists up to lim rows due at now (unix microseconds), of every
	// tenant; claim moves a row's due time to until if it is still seen,
	// answering the rows changed (0: another worker has it); attempt works
	// a claimed row.
	due     func(ctx context.Context, q *notifydb.Queries, now int64, lim int32) ([]due, error)
	claim   func(ctx context.Context, q *notifydb.Queries, d due, until int64) (int64, error)
	attempt func(ctx context.Context, id string) error
	// sweep, run hourly, deletes the finished rows last changed before
	// cutoff (now - keep), of every tenant.
	keep  time.Duration
	sweep func(ctx context.Context, q *notifydb.Queries, cutoff int64) (int64, error)
}

// run works q until ctx is done. It looks every q.poll, and at once when
// woken.
func (s *Service) run(ctx context.Context, q queue) {
	sem := make(chan struct{}, q.workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(q.poll)
	defer t.Stop()
	var swept time.Time
	for {
		if now := s.now(); now.Sub(swept) >= time.Hour {
			swept = now
			if n, err := s.sweepQueue(ctx, q, now); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "old work not deleted", "what", q.what, "err", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "old work deleted", "what", q.what, "count", n)
			}
		}
		n, err := s.startDue(ctx, q, sem, &wg)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "due work not read", "what", q.what, "err", err)
		}
		if n > 0 {
			continue // there may be more
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-q.wake:
		}
	}
}

// startDue claims the due rows (a batch) and starts an attempt of each; it
// returns how many it started.
func (s *Service) startDue(ctx context.Context, q queue, sem chan struct{}, wg *sync.WaitGroup) (int, error) {
	now := s.now()
	var rows []due
	err := s.st.Read(sqldb.AllTenants(ctx), func(dq *notifydb.Queries) error {
		var err error
		rows, err = q.due(ctx, dq, sqldb.Micros(now), int32(4*q.workers))
		return err
	})
	if err != nil {
		return 0, err
	}
	started := 0
	for _, d := range rows {
		ctx := tenancy.WithID(ctx, d.tenant)
		var claimed int64
		err := s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, dq *notifydb.Queries) error {
			var err error
			claimed, err = q.claim(ctx, dq, d, sqldb.Micros(now.Add(q.lease)))
			return err
		})
		if err != nil {
			return started, err
		}
		if claimed == 0 {
			continue // another worker has it
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return started, nil
		}
		started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := q.attempt(ctx, d.id); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "attempt not recorded", "what", q.what, "id", d.id, "tenant", d.tenant, "err", err)
			}
		}()
	}
	return started, nil
}

// dues turns a due-rows query's answer into the queue's rows.
func dues[R any](rows []R, of func(R) due) []due {
	out := make([]due, len(rows))
	for i, r := range rows {
		out[i] = of(r)
	}
	return out
}

// sweepQueue deletes q's finished rows last changed more than q.keep
// before now.
func (s *Service) sweepQueue(ctx context.Context, q queue, now time.Time) (int64, error) {
	var n int64
	err := s.st.Write(sqldb.AllTenants(ctx), func(ctx context.Context, _ *sql.Tx, dq *notifydb.Queries) error {
		var err error
		n, err = q.sweep(ctx, dq, sqldb.Micros(now.Add(-q.keep)))
		return err
	})
	return n, err
}
