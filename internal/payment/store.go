package payment

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/kit"
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

// readByOrder is byOrder in a read transaction of the tenant in ctx.
func (s *Service) readByOrder(ctx context.Context, tenant, orderID string) (record, error) {
	return kit.ReadOne(ctx, s.store, func(q *paymentdb.Queries) (record, error) {
		return byOrder(ctx, q, tenant, orderID)
	})
}

// write is the store's Write, retrying the whole of fn when a concurrent
// writer changed the payment first (errStale; PostgreSQL only, SQLite
// serialises writers).
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, q *paymentdb.Queries) error) error {
	const attempts = 5
	var err error
	for range attempts {
		if err = s.store.Write(ctx, fn); !errors.Is(err, errStale) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", ErrConflict, err)
}

func toRecord(p paymentdb.Payment) record {
	return record{
		ID: p.ID, OrderID: p.OrderID, Provider: p.Provider, ProviderRef: p.ProviderRef,
		Status: paymentapi.Status(p.Status), Currency: p.Currency, Amount: p.Amount,
		Captured: p.Captured, CapturePending: p.CapturePending, Refunded: p.Refunded,
		FailureCode: p.FailureCode, AuthToken: p.AuthToken, AuthEmail: p.AuthEmail,
		AuthOpen: p.AuthOpen == 1, Version: p.Version,
		CreatedAt: sqldb.FromMicros(p.CreatedAt), UpdatedAt: sqldb.FromMicros(p.UpdatedAt),
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
		AuthToken: r.AuthToken, AuthEmail: r.AuthEmail, AuthOpen: open, UpdatedAt: sqldb.Micros(r.UpdatedAt),
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

// opResult is the outcome of one of a payment's ledger operations: which
// one (the payment's operation of an idempotency key) and how it ended.
type opResult struct {
	Tenant, PaymentID string
	// Kind is the operation's kind (opCapture…), for errors.
	Kind string
	// Key is the operation's idempotency key at the provider.
	Key string
	// Status is opSucceeded or opFailed.
	Status string
	// Ref is the provider's reference, Reason the failure's or refund's.
	Ref, Reason string
	At          time.Time
}

// finishOp records res if its operation is still pending, in one guarded
// UPDATE rather than a read and a write; done is false when there is none
// or its outcome was already recorded (by a concurrent caller, whose record
// stands).
func finishOp(ctx context.Context, q *paymentdb.Queries, res opResult) (done bool, err error) {
	n, err := q.FinishOperation(ctx, paymentdb.FinishOperationParams{
		TenantID: res.Tenant, PaymentID: res.PaymentID, IdemKey: res.Key, Status: res.Status, ProviderRef: res.Ref,
		Reason: res.Reason, UpdatedAt: sqldb.Micros(res.At),
	})
	if err != nil {
		return false, fmt.Errorf("record %s outcome: %w", res.Kind, err)
	}
	return n == 1, nil
}

// addOp writes op to the ledger as an operation of r, with a new ID and
// created now; op gives the rest (its tenant, kind, amount, keys, reason,
// provider reference and status).
func (s *Service) addOp(ctx context.Context, q *paymentdb.Queries, r record, op operation) error {
	op.ID, op.PaymentID, op.CreatedAt = kit.NewID(), r.ID, sqldb.Micros(s.now())
	return insertOp(ctx, q, op)
}

// insertOp writes the ledger row op as it is, with its own ID: callers that
// keep op (to finish or release it later) find the row by that ID.
func insertOp(ctx context.Context, q *paymentdb.Queries, op operation) error {
	// A new ledger row only passes its error on: on PostgreSQL it goes out
	// with the next statement (sqldb.Pipelined).
	if err := q.InsertOperation(sqldb.Pipelined(ctx), paymentdb.InsertOperationParams{
		TenantID: op.TenantID, ID: op.ID, PaymentID: op.PaymentID, Kind: op.Kind, Amount: op.Amount, IdemKey: op.IdemKey,
		CallerKey: op.CallerKey, Reason: op.Reason, ProviderRef: op.ProviderRef, Status: op.Status, CreatedAt: op.CreatedAt,
	}); err != nil {
		return fmt.Errorf("insert %s operation: %w", op.Kind, err)
	}
	return nil
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
			Reason: op.Reason, Key: op.CallerKey, CreatedAt: sqldb.FromMicros(op.CreatedAt),
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

// firstCursor is before every row, newest first.
var firstCursor = kit.Cursor{At: math.MaxInt64, ID: "~"}
