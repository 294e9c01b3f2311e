package search

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/search/searchdb"
)

// indexer keeps this replica's indexes in step with the projection. The
// projection (SQL, shared by every replica) is written once per event by
// whichever replica's consumer got it; each replica's indexer then reads
// what changed:
//
//   - at once, for the products its own consumers just changed (refresh,
//     called after the transaction committed): the fast path that makes a
//     change searchable within milliseconds;
//   - by tailing the projection in change order (catchUp), on start and
//     every poll interval: what other replicas changed, and anything a
//     crash lost between a commit and its refresh.
//
// The tail rereads a window (lookback) before its cursor, since rows of
// concurrent transactions can commit out of changed_at order; a row's rev
// tells what was indexed already, so the overlap costs one small query.
// Indexing is a pure function of a row, so reading a row twice is
// harmless. The cursor is written into each tenant's index in the same
// batch as the documents, so it never runs ahead of what was persisted.
type indexer struct {
	store    *kit.Store[*searchdb.Queries]
	idx      *indexes
	lookback time.Duration
	log      *slog.Logger

	mu     sync.Mutex // serializes index writes and guards what follows
	cursor projCursor
	seen   map[productKey]seenRev

	qmu      sync.Mutex // guards the refreshes waiting to be written
	queue    map[productKey]struct{}
	next     *refreshBatch // the batch the queue goes into
	flushing bool          // a flush is writing batches
	closed   bool          // close was called: no more refreshes
	flushers sync.WaitGroup
}

type productKey struct{ tenant, id string }

type seenRev struct{ rev, changedAt int64 }

func newIndexer(st *kit.Store[*searchdb.Queries], idx *indexes, lookback time.Duration, log *slog.Logger) *indexer {
	return &indexer{store: st, idx: idx, lookback: lookback, log: log, seen: map[productKey]seenRev{}, queue: map[productKey]struct{}{}}
}

// tailPage is how many changed rows one tail query reads.
const tailPage = 500

// start sets the cursor from the indexes on disk: the oldest of the
// tenants' cursors, and the very start for a tenant the projection holds
// but no index has (a new replica, or a deleted index).
func (ix *indexer) start(ctx context.Context) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	tenants, err := kit.ReadOne(sqldb.AllTenants(ctx), ix.store, func(q *searchdb.Queries) ([]string, error) {
		return q.Tenants(sqldb.AllTenants(ctx))
	})
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	var from *projCursor
	for _, t := range tenants {
		c, err := ix.idx.cursor(t)
		if err != nil {
			return err
		}
		if from == nil || c.before(*from) {
			from = &c
		}
	}
	if from != nil {
		ix.cursor = *from
	}
	return nil
}

// catchUp indexes every row changed since the cursor (less the lookback)
// that this replica has not indexed at its current rev.
func (ix *indexer) catchUp(ctx context.Context) (int, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	actx := sqldb.AllTenants(ctx)
	pos := projCursor{At: max(ix.cursor.At-ix.lookback.Microseconds(), 0)}
	if ix.cursor.At == 0 {
		pos = projCursor{At: -1} // from the very start
	}
	total := 0
	for {
		rows, err := kit.ReadOne(actx, ix.store, func(q *searchdb.Queries) ([]searchdb.ChangedSinceRow, error) {
			return q.ChangedSince(actx, searchdb.ChangedSinceParams{AfterAt: pos.At, AfterTenant: pos.Tenant, AfterID: pos.ID, Lim: tailPage})
		})
		if err != nil {
			return total, fmt.Errorf("read changed products: %w", err)
		}
		var todo []productKey
		for _, r := range rows {
			k := productKey{r.TenantID, r.ProductID}
			if s, ok := ix.seen[k]; !ok || s.rev < r.Rev {
				todo = append(todo, k)
			}
			pos = projCursor{At: r.ChangedAt, Tenant: r.TenantID, ID: r.ProductID}
		}
		n, err := ix.index(ctx, todo, &pos)
		total += n
		if err != nil {
			return total, err
		}
		if pos.At > 0 && ix.cursor.before(pos) {
			ix.cursor = pos
		}
		if len(rows) < tailPage {
			break
		}
	}
	ix.forget()
	return total, nil
}

// refresh has the given products of a tenant indexed at once: the
// consumers' fast path, after their transaction committed. With wait, it
// returns once they are searchable. The refreshes that arrive while a batch
// is written are gathered into the next one, written as soon as that one is
// done: alone, a change is indexed at once; under load, batches grow with
// it instead of queueing one tiny batch each, and the consumers, which do
// not wait, go on at the database's pace.
func (ix *indexer) refresh(ctx context.Context, tenant string, ids []string, wait bool) error {
	if len(ids) == 0 {
		return nil
	}
	ix.qmu.Lock()
	if ix.closed {
		ix.qmu.Unlock()
		return errClosed
	}
	for _, id := range ids {
		ix.queue[productKey{tenant, id}] = struct{}{}
	}
	if ix.next == nil {
		ix.next = &refreshBatch{done: make(chan struct{})}
	}
	mine := ix.next
	if !ix.flushing {
		ix.flushing = true
		ix.flushers.Add(1)
		go ix.flush()
	}
	ix.qmu.Unlock()
	if !wait {
		return nil
	}
	select {
	case <-mine.done:
		return mine.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errClosed refuses a refresh after the indexes were closed: the
// projection has the change, and the next start indexes it.
var errClosed = errors.New("search: the indexes are closed")

// refreshBatch is one batch of refreshes: done closes once it is written.
type refreshBatch struct {
	done chan struct{}
	err  error
}

// flush writes the queued refreshes, batch after batch, until none is
// left.
func (ix *indexer) flush() {
	defer ix.flushers.Done()
	ctx := context.Background() // the batches outlive the events that asked
	for {
		ix.qmu.Lock()
		queue, b := ix.queue, ix.next
		if len(queue) == 0 {
			ix.flushing = false
			ix.qmu.Unlock()
			return
		}
		ix.queue, ix.next = map[productKey]struct{}{}, nil
		ix.qmu.Unlock()
		keys := make([]productKey, 0, len(queue))
		for k := range queue {
			keys = append(keys, k)
		}
		ix.mu.Lock()
		_, b.err = ix.index(ctx, keys, nil)
		ix.mu.Unlock()
		if b.err != nil {
			// The projection holds the changes: the next catch-up indexes them.
			ix.log.Warn("search index refresh failed", "count", len(keys), "err", b.err)
		}
		close(b.done)
	}
}

// index reads the products' rows and stock and writes their documents,
// one batch per tenant; with cursor, each tenant's batch also records it.
// ix.mu is held.
func (ix *indexer) index(ctx context.Context, keys []productKey, cursor *projCursor) (int, error) {
	byTenant := map[string][]string{}
	var order []string
	for _, k := range keys {
		if _, ok := byTenant[k.tenant]; !ok {
			order = append(order, k.tenant)
		}
		byTenant[k.tenant] = append(byTenant[k.tenant], k.id)
	}
	if cursor != nil && len(order) == 0 {
		return 0, nil
	}
	n := 0
	for _, tenant := range order {
		states, revs, err := ix.load(ctx, tenant, byTenant[tenant])
		if err != nil {
			return n, err
		}
		idx, err := ix.idx.get(tenant, true)
		if err != nil {
			return n, err
		}
		b := idx.NewBatch()
		for i, id := range byTenant[tenant] {
			st := states[i]
			if !st.searchable() {
				b.Delete(id)
				continue
			}
			d, err := st.document()
			if err != nil {
				return n, err
			}
			if err := b.Index(id, d); err != nil {
				return n, fmt.Errorf("index product %s: %w", id, err)
			}
		}
		if cursor != nil {
			raw, _ := json.Marshal(*cursor)
			b.SetInternal(cursorKey, raw)
		}
		if err := idx.Batch(b); err != nil {
			return n, fmt.Errorf("write index of %s: %w", tenant, err)
		}
		for i, id := range byTenant[tenant] {
			ix.seen[productKey{tenant, id}] = revs[i]
		}
		n += len(byTenant[tenant])
	}
	return n, nil
}

// load reads the projection's state of a tenant's products in one read
// transaction, with the rev each was read at.
func (ix *indexer) load(ctx context.Context, tenant string, ids []string) ([]indexState, []seenRev, error) {
	states := make([]indexState, len(ids))
	revs := make([]seenRev, len(ids))
	tctx := tenantContext(ctx, tenant)
	err := ix.store.Read(tctx, func(q *searchdb.Queries) error {
		for i, id := range ids {
			row, err := q.GetProduct(tctx, searchdb.GetProductParams{TenantID: tenant, ProductID: id})
			if errors.Is(err, sql.ErrNoRows) {
				states[i] = indexState{}
				continue
			}
			if err != nil {
				return fmt.Errorf("load product %s: %w", id, err)
			}
			st, err := stateOf(row.Snapshot, row.RatingAverage, row.RatingCount)
			if err != nil {
				return fmt.Errorf("load product %s: %w", id, err)
			}
			if st.Known {
				stock, err := q.ProductStock(tctx, searchdb.ProductStockParams{TenantID: tenant, ProductID: id})
				if err != nil {
					return fmt.Errorf("load stock of %s: %w", id, err)
				}
				st.Available = make(map[string]int64, len(stock))
				for _, s := range stock {
					st.Available[s.Sku] = s.Available
				}
			}
			states[i], revs[i] = st, seenRev{rev: row.Rev, changedAt: row.ChangedAt}
		}
		return nil
	})
	return states, revs, err
}

// stateOf decodes a projection row.
func stateOf(raw string, ratingHundredths, ratingCount int64) (indexState, error) {
	st := indexState{RatingAvg: float64(ratingHundredths) / 100, RatingCount: ratingCount}
	if raw == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(raw), &st.Snapshot); err != nil {
		return st, fmt.Errorf("decode snapshot: %w", err)
	}
	st.Known = true
	return st, nil
}

// forget drops what was seen before the lookback window: a row older than
// the window is not read again by the tail. ix.mu is held.
func (ix *indexer) forget() {
	limit := ix.cursor.At - 2*ix.lookback.Microseconds()
	for k, s := range ix.seen {
		if s.changedAt < limit {
			delete(ix.seen, k)
		}
	}
}

// close stops taking refreshes and waits for the batches being written,
// then checkpoints.
func (ix *indexer) close() error {
	ix.qmu.Lock()
	ix.closed = true
	ix.qmu.Unlock()
	ix.flushers.Wait()
	return ix.checkpoint()
}

// checkpoint writes the cursor into every open index and waits until the
// indexes are on disk: before closing them, so that the next start reads
// on from here rather than from the last cursor a batch happened to carry.
func (ix *indexer) checkpoint() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	raw, _ := json.Marshal(ix.cursor)
	return ix.idx.persist(cursorKey, raw, 30*time.Second)
}

// rebuild deletes every index and indexes the whole projection again.
func (ix *indexer) rebuild(ctx context.Context) (int, error) {
	ix.mu.Lock()
	if err := ix.idx.drop(); err != nil {
		ix.mu.Unlock()
		return 0, err
	}
	ix.cursor = projCursor{}
	clear(ix.seen)
	ix.mu.Unlock()
	return ix.catchUp(ctx)
}

// follow runs catchUp every interval and whenever wake is signalled, until
// ctx is done.
func (ix *indexer) follow(ctx context.Context, every time.Duration, wake <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		if _, err := ix.catchUp(ctx); err != nil && ctx.Err() == nil {
			ix.log.WarnContext(ctx, "search index catch-up failed", "err", err)
		}
	}
}
