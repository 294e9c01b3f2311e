package notify

import (
	"context"
	"sync"
	"time"

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
	// due lists up to lim rows due at now; claim claims one, reporting
	// false when another worker has it; attempt works a claimed row.
	due     func(ctx context.Context, now time.Time, lim int) ([]due, error)
	claim   func(ctx context.Context, d due, now time.Time) (bool, error)
	attempt func(ctx context.Context, id string) error
	// hourly, if set, runs once an hour (the sweep of old rows).
	hourly func(ctx context.Context, now time.Time)
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
		if now := s.now(); q.hourly != nil && now.Sub(swept) >= time.Hour {
			swept = now
			q.hourly(ctx, now)
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
	rows, err := q.due(ctx, now, 4*q.workers)
	if err != nil {
		return 0, err
	}
	started := 0
	for _, d := range rows {
		ctx := tenancy.WithID(ctx, d.tenant)
		claimed, err := q.claim(ctx, d, now)
		if err != nil {
			return started, err
		}
		if !claimed {
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
