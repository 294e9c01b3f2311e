package payment

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mercato/mercato/internal/platform/money"
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

// Fake is the built-in provider: in memory, deterministic by token, and
// recording every call so tests can count them. Like a real provider it
// remembers the outcome of each idempotency key and answers a repeat with
// it. tok_timeout models a lost answer: the authorization is made, but the
// first call waits the configured delay and returns ErrTimeout; a repeat
// with the same key returns the authorization. It is safe for concurrent
// use.
type Fake struct {
	delay  time.Duration
	secret string
	now    func() time.Time

	mu    sync.Mutex
	calls []FakeCall
	byKey map[string]fakeOutcome
	auths map[string]*fakeAuth
	seq   int
}

// FakeCall is one call the fake received.
type FakeCall struct {
	Op     string // authorize, capture, void, refund
	Key    string
	Ref    string
	Amount int64
	Replay bool // answered from an earlier call with the same key
}

type fakeOutcome struct {
	op     string
	amount int64
	ref    string
	err    error
}

type fakeAuth struct {
	amount, captured, refunded int64
	voided                     bool
}

// NewFake returns a fake provider whose tok_timeout waits delay, and whose
// webhooks are signed with secret.
func NewFake(delay time.Duration, secret string) *Fake {
	return &Fake{delay: delay, secret: secret, now: time.Now, byKey: map[string]fakeOutcome{}, auths: map[string]*fakeAuth{}}
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

// replay answers a repeated key; ok is false for a new key. A key reused
// for another operation or amount is an error, as at a real provider.
func (f *Fake) replay(op, key string, amount int64) (fakeOutcome, bool, error) {
	o, ok := f.byKey[key]
	if !ok {
		return fakeOutcome{}, false, nil
	}
	f.calls = append(f.calls, FakeCall{Op: op, Key: key, Ref: o.ref, Amount: amount, Replay: true})
	if o.op != op || o.amount != amount {
		return o, true, fmt.Errorf("fake provider: idempotency key %q reused with other parameters", key)
	}
	return o, true, nil
}

// Authorize implements Provider.
func (f *Fake) Authorize(ctx context.Context, req AuthRequest) (AuthResult, error) {
	f.mu.Lock()
	o, ok, err := f.replay("authorize", req.IdempotencyKey, req.Amount.Amount)
	if ok || err != nil {
		f.mu.Unlock()
		if err != nil {
			return AuthResult{}, err
		}
		return AuthResult{Ref: o.ref}, o.err
	}
	o = fakeOutcome{op: "authorize", amount: req.Amount.Amount}
	switch req.Token {
	case TokenVisa, TokenTimeout:
		f.seq++
		o.ref = fmt.Sprintf("fake_auth_%d", f.seq)
		f.auths[o.ref] = &fakeAuth{amount: req.Amount.Amount}
	case TokenDeclined:
		o.err = &DeclineError{Reason: "declined"}
	case TokenInsufficientFunds:
		o.err = &DeclineError{Reason: "insufficient_funds"}
	default:
		o.err = &DeclineError{Reason: "invalid_token"}
	}
	f.byKey[req.IdempotencyKey] = o
	f.calls = append(f.calls, FakeCall{Op: "authorize", Key: req.IdempotencyKey, Ref: o.ref, Amount: req.Amount.Amount})
	f.mu.Unlock()
	if req.Token == TokenTimeout {
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
	return AuthResult{Ref: o.ref}, o.err
}

// Capture implements Provider.
func (f *Fake) Capture(_ context.Context, ref string, amount money.Money, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok, err := f.replay("capture", key, amount.Amount); ok || err != nil {
		return firstErr(err, o.err)
	}
	o := fakeOutcome{op: "capture", amount: amount.Amount, ref: ref}
	a := f.auths[ref]
	switch {
	case a == nil:
		o.err = &DeclineError{Reason: "unknown_authorization"}
	case a.voided:
		o.err = &DeclineError{Reason: "authorization_voided"}
	case amount.Amount <= 0 || a.captured+amount.Amount > a.amount:
		o.err = &DeclineError{Reason: "amount_too_large"}
	default:
		a.captured += amount.Amount
	}
	f.byKey[key] = o
	f.calls = append(f.calls, FakeCall{Op: "capture", Key: key, Ref: ref, Amount: amount.Amount})
	return o.err
}

// Void implements Provider.
func (f *Fake) Void(_ context.Context, ref, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok, err := f.replay("void", key, 0); ok || err != nil {
		return firstErr(err, o.err)
	}
	o := fakeOutcome{op: "void", ref: ref}
	a := f.auths[ref]
	switch {
	case a == nil:
		o.err = &DeclineError{Reason: "unknown_authorization"}
	case a.captured > 0:
		o.err = &DeclineError{Reason: "already_captured"}
	default:
		a.voided = true
	}
	f.byKey[key] = o
	f.calls = append(f.calls, FakeCall{Op: "void", Key: key, Ref: ref})
	return o.err
}

// Refund implements Provider.
func (f *Fake) Refund(_ context.Context, ref string, amount money.Money, key string) (RefundRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok, err := f.replay("refund", key, amount.Amount); ok || err != nil {
		return RefundRef(o.ref), firstErr(err, o.err)
	}
	o := fakeOutcome{op: "refund", amount: amount.Amount}
	a := f.auths[ref]
	switch {
	case a == nil:
		o.err = &DeclineError{Reason: "unknown_authorization"}
	case amount.Amount <= 0 || a.refunded+amount.Amount > a.captured:
		o.err = &DeclineError{Reason: "amount_too_large"}
	default:
		a.refunded += amount.Amount
		f.seq++
		o.ref = fmt.Sprintf("fake_refund_%d", f.seq)
	}
	f.byKey[key] = o
	f.calls = append(f.calls, FakeCall{Op: "refund", Key: key, Ref: ref, Amount: amount.Amount})
	return RefundRef(o.ref), o.err
}

// Authorized reports whether ref is authorized at the fake and neither
// voided nor captured: a hold still on the card.
func (f *Fake) Authorized(ref string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.auths[ref]
	return a != nil && !a.voided && a.captured == 0
}

// OpenAuthorizations counts holds still on cards (see Authorized).
func (f *Fake) OpenAuthorizations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, a := range f.auths {
		if !a.voided && a.captured == 0 {
			n++
		}
	}
	return n
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
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
