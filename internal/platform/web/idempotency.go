package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

//go:embed migrations/*.sql
var migrations embed.FS

// IdempotencyMigrations creates the table of Idempotency-Key outcomes.
var IdempotencyMigrations = sqldb.Embedded(migrations, "migrations", "web_db_version")

// IdempotencyStore keeps the outcome of each mutating request sent with an
// Idempotency-Key, per tenant, so a retry gets the first response back:
//
//   - same key, same method, path and body: the first response is replayed
//     (with Idempotent-Replayed: true); a retry that arrives while the first
//     is still being served waits for it;
//   - same key, different request: 422 idempotency_key_reused;
//   - 5xx, 401, 403, 408 and 429 outcomes are not kept, so the retry runs again.
type IdempotencyStore struct {
	db *sqldb.DB
	// TTL is how long outcomes are kept. Default 24h.
	TTL time.Duration
	// Wait is how long a retry waits for a first request still in flight
	// before answering 409 idempotency_in_progress. Default 30s.
	Wait time.Duration
	// Stale is when a request still marked in flight is presumed lost with
	// its process, and the key may be run again. Default 2m.
	Stale time.Duration
	now   func() time.Time
}

// NewIdempotencyStore keeps outcomes in db, which must have IdempotencyMigrations applied.
func NewIdempotencyStore(db *sqldb.DB) *IdempotencyStore {
	return &IdempotencyStore{db: db, TTL: 24 * time.Hour, Wait: 30 * time.Second, Stale: 2 * time.Minute, now: time.Now}
}

// Purge deletes outcomes older than the TTL, a bounded batch per
// transaction (sqldb.DeleteBatches).
func (s *IdempotencyStore) Purge(ctx context.Context) error {
	ctx = sqldb.AllTenants(ctx) // every tenant's expired outcomes
	_, err := s.db.DeleteBatches(ctx, `DELETE FROM idempotency_keys WHERE (tenant_id, idem_key) IN (
		SELECT tenant_id, idem_key FROM idempotency_keys WHERE created_at < $1 ORDER BY created_at LIMIT $2)`,
		s.now().Add(-s.TTL).UnixMicro())
	if err != nil {
		return fmt.Errorf("purge idempotency keys: %w", err)
	}
	return nil
}

// Run purges expired outcomes every hour until ctx is done.
func (s *IdempotencyStore) Run(ctx context.Context, log *slog.Logger) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := s.Purge(ctx); err != nil && ctx.Err() == nil {
			log.Warn("purge idempotency keys", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type outcome struct {
	hash        string
	status      int
	contentType string
	location    string
	body        string
	createdAt   time.Time
}

const selectOutcome = `SELECT request_hash, status, content_type, location, body, created_at FROM idempotency_keys WHERE tenant_id = $1 AND idem_key = $2`

func scanOutcome(row *sql.Row) (*outcome, error) {
	var o outcome
	var created int64
	if err := row.Scan(&o.hash, &o.status, &o.contentType, &o.location, &o.body, &created); err != nil {
		return nil, err
	}
	o.createdAt = time.UnixMicro(created)
	return &o, nil
}

// lookup returns the key's outcome (status 0 while in flight), or nil when
// the key is new. It only reads, so replays and waits take no write lock.
func (s *IdempotencyStore) lookup(ctx context.Context, tenant, key string) (*outcome, error) {
	var o *outcome
	err := s.db.ReadTx(tenancy.WithID(ctx, tenant), func(tx *sql.Tx) error {
		var err error
		o, err = scanOutcome(tx.QueryRowContext(ctx, selectOutcome, tenant, key))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	return o, nil
}

// stale reports whether o is a claim left by a request whose process died.
func (s *IdempotencyStore) stale(o *outcome, now time.Time) bool {
	return o.status == 0 && now.Sub(o.createdAt) > s.Stale
}

// claim records key as in flight for hash. It returns the stored outcome
// instead when another request holds or completed the key.
func (s *IdempotencyStore) claim(ctx context.Context, tenant, key, hash string) (prior *outcome, err error) {
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		prior = nil
		now := s.now()
		res, err := tx.ExecContext(ctx,
			`INSERT INTO idempotency_keys (tenant_id, idem_key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, idem_key) DO NOTHING`,
			tenant, key, hash, now.UnixMicro())
		if err != nil {
			return fmt.Errorf("claim idempotency key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		o, err := scanOutcome(tx.QueryRowContext(ctx, selectOutcome, tenant, key))
		if err != nil {
			return fmt.Errorf("read idempotency key: %w", err)
		}
		if s.stale(o, now) {
			// The first attempt died with its process: let this one run.
			_, err = tx.ExecContext(ctx,
				`UPDATE idempotency_keys SET request_hash = $3, created_at = $4 WHERE tenant_id = $1 AND idem_key = $2`,
				tenant, key, hash, now.UnixMicro())
			if err != nil {
				return fmt.Errorf("take over stale idempotency key: %w", err)
			}
			return nil
		}
		prior = o
		return nil
	})
	return prior, err
}

func (s *IdempotencyStore) finish(ctx context.Context, tenant, key string, rec *statusWriter) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if keepOutcome(rec.status) {
			_, err = tx.ExecContext(ctx,
				`UPDATE idempotency_keys SET status = $3, content_type = $4, location = $5, body = $6 WHERE tenant_id = $1 AND idem_key = $2`,
				tenant, key, rec.status, rec.Header().Get("Content-Type"), rec.Header().Get("Location"), rec.copy.String())
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE tenant_id = $1 AND idem_key = $2`, tenant, key)
		}
		if err != nil {
			return fmt.Errorf("store idempotent outcome: %w", err)
		}
		return nil
	})
}

func keepOutcome(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return status > 0 && status < 500
}

// middleware keeps outcomes by key, except for the operations in own
// (method and path → true), which handle Idempotency-Key themselves.
func (s *IdempotencyStore) middleware(next http.Handler, maxBody int64, log *slog.Logger, own *sync.Map) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" || r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		if _, ok := own.Load(r.Method + " " + r.URL.Path); ok {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > 255 || !printable(key) {
			WriteProblem(w, http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters")
			return
		}
		tenant, err := tenancy.ID(r.Context())
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		if _, ok := auth.From(r.Context()); !ok {
			// Anonymous callers cannot be told apart: one guessing
			// another's key would be handed that caller's answer (a new
			// cart's secret ID, say). Their operations are idempotent by
			// their own means (checkout) or harmless to repeat.
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				WriteProblem(w, http.StatusRequestEntityTooLarge, "body_too_large", "the request body is too large")
				return
			}
			WriteProblem(w, http.StatusBadRequest, "malformed_request", "the request body could not be read")
			return
		}
		if int64(len(body)) > maxBody {
			WriteProblem(w, http.StatusRequestEntityTooLarge, "body_too_large", "the request body is too large")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		fmt.Fprintf(h, "%s %s?%s\n", r.Method, r.URL.Path, r.URL.RawQuery)
		// The caller is part of the request: another user's key, even with
		// the same body, is not a retry of theirs.
		if p, ok := auth.From(r.Context()); ok {
			fmt.Fprintf(h, "%s %s %s\n", p.Kind, p.Tenant, p.Subject)
		}
		h.Write(body)
		hash := hex.EncodeToString(h.Sum(nil))

		deadline := s.now().Add(s.Wait)
		for {
			// Read first: a replay or a wait needs no write; only a new (or
			// abandoned) key is claimed, in a transaction that settles races.
			prior, err := s.lookup(r.Context(), tenant, key)
			if err == nil && (prior == nil || s.stale(prior, s.now())) {
				prior, err = s.claim(r.Context(), tenant, key, hash)
			}
			if err != nil {
				log.Error("idempotency key", "tenant", tenant, "err", err)
				WriteProblem(w, http.StatusServiceUnavailable, "unavailable", "the request could not be registered; retry shortly")
				return
			}
			if prior == nil {
				break // ours to run
			}
			if prior.hash != hash {
				WriteProblem(w, http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was used with a different request")
				return
			}
			if prior.status != 0 {
				replay(w, prior)
				return
			}
			if s.now().After(deadline) {
				WriteProblem(w, http.StatusConflict, "idempotency_in_progress", "a request with this Idempotency-Key is still being served; retry shortly")
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}

		rec := &statusWriter{ResponseWriter: w, copy: new(bytes.Buffer)}
		defer func() {
			// Record even after a panic (as "not kept") so the key is freed;
			// the panic itself goes on to the recovery layer.
			if rec.status == 0 {
				rec.status = http.StatusInternalServerError
			}
			ctx := context.WithoutCancel(r.Context())
			if err := s.finish(ctx, tenant, key, rec); err != nil {
				log.Error("idempotency outcome", "tenant", tenant, "err", err)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

func replay(w http.ResponseWriter, o *outcome) {
	if o.contentType != "" {
		w.Header().Set("Content-Type", o.contentType)
	}
	if o.location != "" {
		w.Header().Set("Location", o.location)
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(o.status)
	_, _ = io.WriteString(w, o.body)
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
