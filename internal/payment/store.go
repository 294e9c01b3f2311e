package payment

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/outbox"
	"github.com/mercato/mercato/internal/platform/sqldb"
)

// The SQL lives in queries/*.sql, compiled by sqlc into paymentdb
// (`go tool sqlc generate -f internal/payment/sqlc.yaml`).

// errStale means the payment row changed between read and write (a
// concurrent operation on PostgreSQL): the transaction is retried.
var errStale = errors.New("payment: payment changed concurrently")

// The kinds of ledger operations and their statuses.
const (
	opAuthorize = "authorize"
	opCapture   = "capture"
	opVoid      = "void"
	opRefund    = "refund"

	opPending   = "pending"
	opSucceeded = "succeeded"
	opFailed    = "failed"
)

// store reads and writes the payment tables.
type store struct {
	db *sqldb.DB
	// prepared holds the queries prepared on the read pool; use them only
	// through readTx, which binds them to a tenant's transaction.
	prepared *paymentdb.Queries
	// write holds the same queries prepared on the write pool, bound to
	// each write transaction with WithTx (see sqldb.DB.Write).
	write *paymentdb.Queries
}

func newStore(ctx context.Context, db *sqldb.DB) (*store, error) {
	read, err := paymentdb.Prepare(ctx, db.Read())
	if err != nil {
		return nil, fmt.Errorf("payment: prepare queries (is the database migrated?): %w", err)
	}
	write, err := paymentdb.Prepare(ctx, db.Write())
	if err != nil {
		return nil, fmt.Errorf("payment: prepare queries: %w", err)
	}
	return &store{db: db, prepared: read, write: write}, nil
}

// readTx runs fn in a read-only transaction on the read pool (sqldb's
// ReadTx), so its queries see one snapshot and, with PostgreSQL row-level
// security, only the rows of the tenant in ctx (every tenant's under
// sqldb.AllTenants): a query outside a transaction sees none there.
func (s *store) readTx(ctx context.Context, fn func(q *paymentdb.Queries) error) error {
	return s.db.ReadTx(ctx, func(tx *sql.Tx) error {
		return fn(s.prepared.WithTx(tx))
	})
}

// readOne is readTx for a read with one result.
func readOne[T any](ctx context.Context, s *store, fn func(q *paymentdb.Queries) (T, error)) (T, error) {
	var v T
	err := s.readTx(ctx, func(q *paymentdb.Queries) error {
		var err error
		v, err = fn(q)
		return err
	})
	return v, err
}

// readByOrder is byOrder in a read transaction of the tenant in ctx.
func (s *store) readByOrder(ctx context.Context, tenant, orderID string) (record, error) {
	return readOne(ctx, s, func(q *paymentdb.Queries) (record, error) {
		return byOrder(ctx, q, tenant, orderID)
	})
}

// write runs fn in a write transaction, retrying the whole of it when a
// concurrent writer changed the payment first (errStale; PostgreSQL only,
// SQLite serialises writers). After commit the relay is woken. fn's
// statements use the ctx it is given (sqldb.DB.WriteTx).
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, q *paymentdb.Queries) error) error {
	const attempts = 5
	var err error
	for range attempts {
		err = s.store.db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return fn(ctx, tx, s.store.write.WithTx(tx)) })
		if err == nil {
			if s.events != nil {
				s.events.Notify()
			}
			return nil
		}
		if !errors.Is(err, errStale) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrConflict, err)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func toRecord(p paymentdb.Payment) record {
	return record{
		ID: p.ID, OrderID: p.OrderID, Provider: p.Provider, ProviderRef: p.ProviderRef,
		Status: paymentapi.Status(p.Status), Currency: p.Currency, Amount: p.Amount,
		Captured: p.Captured, CapturePending: p.CapturePending, Refunded: p.Refunded,
		FailureCode: p.FailureCode, AuthToken: p.AuthToken, AuthEmail: p.AuthEmail,
		AuthOpen: p.AuthOpen == 1, Version: p.Version,
		CreatedAt: fromMicros(p.CreatedAt), UpdatedAt: fromMicros(p.UpdatedAt),
	}
}

// byOrder loads the order's payment through q (a write or read
// transaction's).
func byOrder(ctx context.Context, q *paymentdb.Queries, tenant, orderID string) (record, error) {
	p, err := q.GetPaymentByOrder(ctx, paymentdb.GetPaymentByOrderParams{TenantID: tenant, OrderID: orderID})
	if errors.Is(err, sql.ErrNoRows) {
		return record{}, ErrNotFound
	}
	if err != nil {
		return record{}, fmt.Errorf("load payment of order %s: %w", orderID, err)
	}
	return toRecord(p), nil
}

// save writes r if the row is still at r.Version (else errStale); r's
// version is bumped. The invariant is checked first: a bug must not reach
// the CHECK constraint as an opaque error.
func save(ctx context.Context, q *paymentdb.Queries, tenant string, r *record) error {
	if err := r.check(); err != nil {
		return err
	}
	var open int64
	if r.AuthOpen {
		open = 1
	}
	n, err := q.UpdatePayment(ctx, paymentdb.UpdatePaymentParams{
		TenantID: tenant, ID: r.ID, Version: r.Version,
		ProviderRef: r.ProviderRef, Status: string(r.Status), Captured: r.Captured,
		CapturePending: r.CapturePending, Refunded: r.Refunded, FailureCode: r.FailureCode,
		AuthToken: r.AuthToken, AuthEmail: r.AuthEmail, AuthOpen: open, UpdatedAt: micros(r.UpdatedAt),
	})
	if err != nil {
		return fmt.Errorf("update payment %s: %w", r.ID, err)
	}
	if n == 0 {
		return errStale
	}
	r.Version++
	return nil
}

// operation is a ledger row.
type operation = paymentdb.PaymentOperation

// getOp loads the ledger row of the idempotency key, ok false if none.
func getOp(ctx context.Context, q *paymentdb.Queries, tenant, paymentID, key string) (operation, bool, error) {
	op, err := q.GetOperation(ctx, paymentdb.GetOperationParams{TenantID: tenant, PaymentID: paymentID, IdemKey: key})
	if errors.Is(err, sql.ErrNoRows) {
		return op, false, nil
	}
	if err != nil {
		return op, false, fmt.Errorf("load operation %s: %w", key, err)
	}
	return op, true, nil
}

// finishOp records the outcome of the payment's operation of key if it is
// still pending, in one guarded UPDATE rather than a read and a write; done
// is false when there is none or its outcome was already recorded (by a
// concurrent caller, whose record stands).
func finishOp(ctx context.Context, q *paymentdb.Queries, tenant, paymentID, kind, key, status, ref, reason string, at time.Time) (done bool, err error) {
	n, err := q.FinishOperation(ctx, paymentdb.FinishOperationParams{
		TenantID: tenant, PaymentID: paymentID, IdemKey: key, Status: status, ProviderRef: ref, Reason: reason, UpdatedAt: micros(at),
	})
	if err != nil {
		return false, fmt.Errorf("record %s outcome: %w", kind, err)
	}
	return n == 1, nil
}

// addEvent writes one payment event to the outbox in tx.
func addEvent(ctx context.Context, tx *sql.Tx, subject string, r record, refunds []paymentapi.Refund, amount int64) error {
	return addProviderEvent(ctx, tx, subject, r, refunds, amount, "", "")
}

// addProviderEvent is addEvent for a change the provider made, with its
// reason and the provider's event ID (both empty: addEvent).
func addProviderEvent(ctx context.Context, tx *sql.Tx, subject string, r record, refunds []paymentapi.Refund, amount int64, reason, eventID string) error {
	e, err := outbox.NewEvent(ctx, paymentapi.Source, subject, r.UpdatedAt, paymentapi.PaymentEvent{
		Payment: r.payment(refunds), Amount: money.Money{Amount: amount, Currency: r.Currency},
		Reason: reason, ProviderEventID: eventID,
	})
	if err != nil {
		return err
	}
	return outbox.Add(ctx, tx, e)
}

// refunds lists the payment's confirmed refunds. A payment with nothing
// refunded has none, and is answered without a query: refunded counts
// every refund row, confirmed or in flight, and changes only in the
// transaction that adds or deletes one (see mayHaveRefunds). That spares
// the query for most answers and events (authorize, capture, void).
func refunds(ctx context.Context, q *paymentdb.Queries, tenant string, r record) ([]paymentapi.Refund, error) {
	if !r.mayHaveRefunds() {
		return []paymentapi.Refund{}, nil
	}
	ops, err := q.ListRefunds(ctx, paymentdb.ListRefundsParams{TenantID: tenant, PaymentID: r.ID})
	if err != nil {
		return nil, fmt.Errorf("list refunds of %s: %w", r.ID, err)
	}
	out := make([]paymentapi.Refund, len(ops))
	for i, op := range ops {
		out[i] = paymentapi.Refund{
			ID: op.ID, Amount: money.Money{Amount: op.Amount, Currency: r.Currency},
			Reason: op.Reason, Key: op.CallerKey, CreatedAt: fromMicros(op.CreatedAt),
		}
	}
	return out, nil
}

// view returns r as the API's payment with its refunds, read through q.
func view(ctx context.Context, q *paymentdb.Queries, tenant string, r record) (paymentapi.Payment, error) {
	rs, err := refunds(ctx, q, tenant, r)
	if err != nil {
		return paymentapi.Payment{}, err
	}
	return r.payment(rs), nil
}

// providerKey is the idempotency key of an operation at the provider:
// mercato-<tenant>-<order>-<kind>[-<caller key>], hashed when longer than
// providers take (Stripe: 255).
func providerKey(tenant, orderID, kind, callerKey string) string {
	k := "mercato-" + tenant + "-" + orderID + "-" + kind
	if callerKey != "" {
		k += "-" + callerKey
	}
	if len(k) > 200 {
		sum := sha256.Sum256([]byte(k))
		k = "mercato-" + kind + "-" + hex.EncodeToString(sum[:])
	}
	return k
}

// cursor is a list position: the last item's created_at and id.
type cursor struct {
	at int64
	id string
}

func (c cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.at, 10) + "|" + c.id))
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, ErrInvalidCursor
	}
	at, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return cursor{}, ErrInvalidCursor
	}
	return cursor{at: n, id: id}, nil
}

// firstCursor is before every row, newest first.
var firstCursor = cursor{at: math.MaxInt64, id: "~"}
