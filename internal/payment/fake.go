package payment

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// The fake provider's test tokens.
const (
	TokenVisa              = "tok_visa"
	TokenDeclined          = "tok_declined"
	TokenInsufficientFunds = "tok_insufficient_funds"
	TokenTimeout           = "tok_timeout"
)

// FakeSignatureHeader carries the fake provider's webhook signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
const FakeSignatureHeader = "Mercato-Signature"

// webhookTolerance is how old a signed webhook may be.
const webhookTolerance = 5 * time.Minute

// Fake is the built-in provider: deterministic by token, and recording
// every call so tests can count them. It keeps its state in the payment
// database (fake_authorizations, fake_requests), so it behaves like a real
// provider across restarts, clean or not: an authorization made before one
// is captured, voided and refunded after it, within its amounts, and an
// idempotency key is answered with its first outcome whenever it comes
// again; a key reused for another operation, amount or authorization is
// refused. tok_timeout models a lost answer: the authorization is made, but
// the first call waits the configured delay and returns ErrTimeout; a
// repeat with the same key returns the authorization. References are
// random (crypto/rand), so that no one can guess another payment's. Every
// call acts in the tenant of its context. It is safe for concurrent use,
// also by processes sharing one PostgreSQL database.
type Fake struct {
	db     *sqldb.DB
	delay  time.Duration
	secret string
	now    func() time.Time

	mu    sync.Mutex
	calls []FakeCall
}

// FakeCall is one call the fake received (in this process).
type FakeCall struct {
	Op     string // authorize, capture, void, refund
	Key    string
	Ref    string
	Amount int64
	Replay bool // answered from an earlier call with the same key
}

// errFakeKeyReused is an idempotency key sent again with other parameters:
// the fake refuses it as a real provider does (not a decline: the caller
// has a bug).
var errFakeKeyReused = errors.New("idempotency key reused with other parameters")

// NewFake returns a fake provider keeping its state in db (migrated with
// Migrations), whose tok_timeout waits delay, and whose webhooks are signed
// with secret. A fake without db only signs and verifies webhooks.
func NewFake(db *sqldb.DB, delay time.Duration, secret string) *Fake {
	return &Fake{db: db, delay: delay, secret: secret, now: time.Now}
}

// Calls returns the calls so far, oldest first.
func (f *Fake) Calls() []FakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeCall(nil), f.calls...)
}

// Count returns how many calls of op the fake received, replays included.
func (f *Fake) Count(op string) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Op == op {
			n++
		}
	}
	return n
}

// fakeRequest is one call's parameters: ref is the authorization it is
// about (none for authorize), currency and amount its money (none for
// void).
type fakeRequest struct {
	op, key, ref, currency string
	amount                 int64
}

// fakeOutcome is what a call did; decline is empty when it succeeded.
type fakeOutcome struct {
	authRef, refundRef, decline string
}

// fakeAct does a new call's work in its transaction and says what it did.
type fakeAct func(ctx context.Context, q *paymentdb.Queries, tenant string, at int64) (fakeOutcome, error)

// call runs one call in a write transaction of the payment database: it
// claims the call's idempotency key and then either acts (act, whose
// effects commit with the key's outcome, or not at all) or, when the key
// was sent before, answers with that call's outcome. A decline is returned
// as a *DeclineError; replay reports an answer from an earlier call.
func (f *Fake) call(ctx context.Context, req fakeRequest, act fakeAct) (out fakeOutcome, replay bool, err error) {
	if f.db == nil {
		return fakeOutcome{}, false, fmt.Errorf("fake provider: %s: no database", req.op)
	}
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return fakeOutcome{}, false, fmt.Errorf("fake provider: %s: %w", req.op, err)
	}
	err = f.db.WriteTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		q := paymentdb.New(tx)
		at := sqldb.Micros(f.now())
		n, err := q.ClaimFakeRequest(ctx, paymentdb.ClaimFakeRequestParams{
			TenantID: tenant, IdemKey: req.key, Op: req.op, AuthRef: req.ref,
			Currency: req.currency, Amount: req.amount, CreatedAt: at,
		})
		if err != nil {
			return fmt.Errorf("claim idempotency key: %w", err)
		}
		if replay = n == 0; replay {
			prev, err := q.GetFakeRequest(ctx, paymentdb.GetFakeRequestParams{TenantID: tenant, IdemKey: req.key})
			if err != nil {
				return fmt.Errorf("load idempotency key: %w", err)
			}
			if prev.Op != req.op || prev.Amount != req.amount || prev.Currency != req.currency ||
				(req.op != opAuthorize && prev.AuthRef != req.ref) {
				return fmt.Errorf("%w: %q", errFakeKeyReused, req.key)
			}
			out = fakeOutcome{authRef: prev.AuthRef, refundRef: prev.RefundRef, decline: prev.Decline}
			return nil
		}
		if out, err = act(ctx, q, tenant, at); err != nil {
			return err
		}
		return q.FinishFakeRequest(sqldb.Pipelined(ctx), paymentdb.FinishFakeRequestParams{
			TenantID: tenant, IdemKey: req.key, AuthRef: out.authRef, RefundRef: out.refundRef, Decline: out.decline,
		})
	})
	if err != nil && !errors.Is(err, errFakeKeyReused) {
		return fakeOutcome{}, false, fmt.Errorf("fake provider: %s: %w", req.op, err)
	}
	ref := req.ref
	if req.op == opAuthorize {
		ref = out.authRef
	}
	f.mu.Lock()
	f.calls = append(f.calls, FakeCall{Op: req.op, Key: req.key, Ref: ref, Amount: req.amount, Replay: replay || err != nil})
	f.mu.Unlock()
	if err != nil {
		return fakeOutcome{}, true, fmt.Errorf("fake provider: %s: %w", req.op, err)
	}
	if out.decline != "" {
		return out, replay, &DeclineError{Reason: out.decline}
	}
	return out, replay, nil
}

// newFakeRef returns an unguessable reference: prefix and 128 random bits.
func newFakeRef(prefix string) string {
	return prefix + strings.ToLower(rand.Text())
}

// Authorize implements Provider.
func (f *Fake) Authorize(ctx context.Context, req AuthRequest) (AuthResult, error) {
	out, replay, err := f.call(ctx, fakeRequest{op: opAuthorize, key: req.IdempotencyKey, currency: req.Amount.Currency, amount: req.Amount.Amount},
		func(ctx context.Context, q *paymentdb.Queries, tenant string, at int64) (fakeOutcome, error) {
			switch req.Token {
			case TokenVisa, TokenTimeout:
			case TokenDeclined:
				return fakeOutcome{decline: "declined"}, nil
			case TokenInsufficientFunds:
				return fakeOutcome{decline: "insufficient_funds"}, nil
			default:
				return fakeOutcome{decline: "invalid_token"}, nil
			}
			if req.Amount.Amount <= 0 {
				return fakeOutcome{decline: "invalid_amount"}, nil
			}
			ref := newFakeRef("fake_auth_")
			err := q.InsertFakeAuthorization(sqldb.Pipelined(ctx), paymentdb.InsertFakeAuthorizationParams{
				TenantID: tenant, Ref: ref, Currency: req.Amount.Currency, Amount: req.Amount.Amount, CreatedAt: at,
			})
			if err != nil {
				return fakeOutcome{}, fmt.Errorf("insert authorization: %w", err)
			}
			return fakeOutcome{authRef: ref}, nil
		})
	if err != nil {
		return AuthResult{}, err
	}
	if req.Token == TokenTimeout && !replay {
		// The authorization exists; only the answer is lost.
		if f.delay > 0 {
			t := time.NewTimer(f.delay)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
		return AuthResult{}, ErrTimeout
	}
	return AuthResult{Ref: out.authRef}, nil
}

// Capture implements Provider.
func (f *Fake) Capture(ctx context.Context, ref string, amount money.Money, key string) error {
	_, _, err := f.call(ctx, fakeRequest{op: opCapture, key: key, ref: ref, currency: amount.Currency, amount: amount.Amount},
		func(ctx context.Context, q *paymentdb.Queries, tenant string, at int64) (fakeOutcome, error) {
			out := fakeOutcome{authRef: ref}
			if amount.Amount <= 0 {
				out.decline = "invalid_amount"
				return out, nil
			}
			n, err := q.CaptureFakeAuthorization(ctx, paymentdb.CaptureFakeAuthorizationParams{
				TenantID: tenant, Ref: ref, Currency: amount.Currency, Amount: amount.Amount, UpdatedAt: at,
			})
			if err != nil || n == 1 {
				return out, err
			}
			out.decline, err = fakeRefusal(ctx, q, tenant, ref, amount.Currency)
			return out, err
		})
	return err
}

// Void implements Provider. Voiding a voided authorization succeeds.
func (f *Fake) Void(ctx context.Context, ref, key string) error {
	_, _, err := f.call(ctx, fakeRequest{op: opVoid, key: key, ref: ref},
		func(ctx context.Context, q *paymentdb.Queries, tenant string, at int64) (fakeOutcome, error) {
			out := fakeOutcome{authRef: ref}
			n, err := q.VoidFakeAuthorization(ctx, paymentdb.VoidFakeAuthorizationParams{TenantID: tenant, Ref: ref, UpdatedAt: at})
			if err != nil || n == 1 {
				return out, err
			}
			out.decline = "already_captured"
			if _, found, err := loadFakeAuth(ctx, q, tenant, ref); err != nil || !found {
				out.decline = "unknown_authorization"
				return out, err
			}
			return out, nil
		})
	return err
}

// Refund implements Provider.
func (f *Fake) Refund(ctx context.Context, ref string, amount money.Money, key string) (RefundRef, error) {
	out, _, err := f.call(ctx, fakeRequest{op: opRefund, key: key, ref: ref, currency: amount.Currency, amount: amount.Amount},
		func(ctx context.Context, q *paymentdb.Queries, tenant string, at int64) (fakeOutcome, error) {
			out := fakeOutcome{authRef: ref}
			if amount.Amount <= 0 {
				out.decline = "invalid_amount"
				return out, nil
			}
			n, err := q.RefundFakeAuthorization(ctx, paymentdb.RefundFakeAuthorizationParams{
				TenantID: tenant, Ref: ref, Currency: amount.Currency, Amount: amount.Amount, UpdatedAt: at,
			})
			if err != nil {
				return out, err
			}
			if n == 1 {
				out.refundRef = newFakeRef("fake_refund_")
				return out, nil
			}
			out.decline, err = fakeRefusal(ctx, q, tenant, ref, amount.Currency)
			return out, err
		})
	if err != nil {
		return "", err
	}
	return RefundRef(out.refundRef), nil
}

// fakeRefusal says why a capture or refund of the authorization ref in
// currency changed nothing: unknown_authorization, authorization_voided,
// currency_mismatch or amount_too_large. It reads in the transaction of
// the update, after it, so it sees what the update saw.
func fakeRefusal(ctx context.Context, q *paymentdb.Queries, tenant, ref, currency string) (string, error) {
	a, found, err := loadFakeAuth(ctx, q, tenant, ref)
	switch {
	case err != nil:
		return "", err
	case !found:
		return "unknown_authorization", nil
	case a.Voided == 1:
		return "authorization_voided", nil
	case a.Currency != currency:
		return "currency_mismatch", nil
	}
	return "amount_too_large", nil
}

// loadFakeAuth reads the authorization ref; found is false if there is
// none.
func loadFakeAuth(ctx context.Context, q *paymentdb.Queries, tenant, ref string) (a paymentdb.FakeAuthorization, found bool, err error) {
	a, err = q.GetFakeAuthorization(ctx, paymentdb.GetFakeAuthorizationParams{TenantID: tenant, Ref: ref})
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("load authorization: %w", err)
	}
	return a, true, nil
}

// Authorized reports whether ref is authorized at the fake (in the tenant
// of ctx) and neither voided nor captured: a hold still on the card.
func (f *Fake) Authorized(ctx context.Context, ref string) (bool, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return false, err
	}
	var open bool
	err = f.db.ReadTx(ctx, func(tx *sql.Tx) error {
		a, found, err := loadFakeAuth(ctx, paymentdb.New(tx), tenant, ref)
		open = found && a.Voided == 0 && a.Captured == 0
		return err
	})
	return open, err
}

// OpenAuthorizations counts the holds still on cards in the tenant of ctx
// (see Authorized).
func (f *Fake) OpenAuthorizations(ctx context.Context) (int, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = f.db.ReadTx(ctx, func(tx *sql.Tx) error {
		n, err = paymentdb.New(tx).CountOpenFakeAuthorizations(ctx, tenant)
		return err
	})
	return int(n), err
}

// FakeEvent is the JSON body of a fake provider webhook.
type FakeEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"` // refund.created, authorization.canceled, ...
	Data struct {
		Ref           string `json:"ref"`
		RefundedTotal int64  `json:"refunded_total,omitempty"`
	} `json:"data"`
}

// SignWebhook returns the FakeSignatureHeader value for payload signed at t.
func (f *Fake) SignWebhook(payload []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(fakeMAC(f.secret, ts, payload))
}

func fakeMAC(secret, ts string, payload []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(payload)
	return m.Sum(nil)
}

// VerifyWebhook implements Provider: an HMAC-SHA256 over "<t>.<body>" with
// the configured secret, at most five minutes old (or ahead).
func (f *Fake) VerifyWebhook(payload []byte, header http.Header) (Event, error) {
	if f.secret == "" {
		return Event{}, fmt.Errorf("%w: no webhook secret configured", ErrInvalidSignature)
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header.Get(FakeSignatureHeader), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return Event{}, fmt.Errorf("%w: malformed %s header", ErrInvalidSignature, FakeSignatureHeader)
	}
	if age := f.now().Sub(time.Unix(sec, 0)); age > webhookTolerance || age < -webhookTolerance {
		return Event{}, fmt.Errorf("%w: timestamp outside tolerance", ErrInvalidSignature)
	}
	want := fakeMAC(f.secret, ts, payload)
	ok := false
	for _, s := range sigs {
		ok = ok || hmac.Equal(s, want)
	}
	if !ok {
		return Event{}, fmt.Errorf("%w: signature mismatch", ErrInvalidSignature)
	}
	var fe FakeEvent
	if err := json.Unmarshal(payload, &fe); err != nil || fe.ID == "" {
		return Event{}, fmt.Errorf("%w: body is not an event", ErrInvalidSignature)
	}
	e := Event{ID: fe.ID, Type: fe.Type, Kind: EventOther, Ref: fe.Data.Ref}
	switch fe.Type {
	case "refund.created":
		e.Kind, e.RefundedTotal = EventRefunded, fe.Data.RefundedTotal
	case "authorization.canceled":
		e.Kind = EventVoided
	}
	return e, nil
}
