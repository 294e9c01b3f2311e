package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/payment/paymentdb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// failureVoided is the failure code of a payment voided while its
// authorization was pending (the order gave up on it first).
const failureVoided = "voided"

// Authorize authorizes in.Amount for in.OrderID. It is idempotent on the
// order ID: only the first call reaches the provider, and every call (also
// concurrent ones, which wait for the first) returns its outcome: the
// payment, a *DeclineError, ErrTimeout or ErrProvider. A call for an order
// whose payment was voided first (the order gave up) is declined as voided
// and reaches no provider.
func (s *Service) Authorize(ctx context.Context, in paymentapi.AuthorizeRequest) (paymentapi.Payment, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return paymentapi.Payment{}, err
	}
	if in.Provider == "" {
		in.Provider = paymentapi.ProviderFake
	}
	in.OrderID = strings.TrimSpace(in.OrderID)
	switch {
	case in.OrderID == "":
		return paymentapi.Payment{}, fmt.Errorf("%w: order_id is empty", ErrInvalid)
	case in.Amount.Amount <= 0:
		return paymentapi.Payment{}, fmt.Errorf("%w: amount must be positive", ErrInvalid)
	case money.ValidCurrency(in.Amount.Currency) != nil:
		return paymentapi.Payment{}, fmt.Errorf("%w: unknown currency %q", ErrInvalid, in.Amount.Currency)
	case strings.TrimSpace(in.Token) == "":
		return paymentapi.Payment{}, fmt.Errorf("%w: token is empty", ErrInvalid)
	}
	prov, err := s.provider(in.Provider)
	if err != nil {
		return paymentapi.Payment{}, err
	}
	// r is the row exactly as InsertPayment writes it (timestamps at the
	// column's precision): recordAuthorized writes over it without reading
	// it back, guarded by its version.
	now := sqldb.FromMicros(sqldb.Micros(s.now()))
	r := record{
		ID: kit.NewID(), OrderID: in.OrderID, Provider: in.Provider, Status: paymentapi.StatusPending,
		Currency: in.Amount.Currency, Amount: in.Amount.Amount, AuthToken: in.Token, AuthEmail: in.Email,
		AuthOpen: true, CreatedAt: now, UpdatedAt: now,
	}
	key := providerKey(tenant, in.OrderID, opAuthorize, "")
	var won bool
	err = s.write(ctx, func(ctx context.Context, _ *sql.Tx, q *paymentdb.Queries) error {
		n, err := q.InsertPayment(ctx, paymentdb.InsertPaymentParams{
			TenantID: tenant, ID: r.ID, OrderID: r.OrderID, Provider: r.Provider, Currency: r.Currency,
			Amount: r.Amount, AuthToken: r.AuthToken, AuthEmail: r.AuthEmail, CreatedAt: sqldb.Micros(now),
		})
		if err != nil {
			return fmt.Errorf("insert payment: %w", err)
		}
		if won = n == 1; !won {
			return nil
		}
		return insertOp(ctx, q, operation{
			TenantID: tenant, ID: kit.NewID(), PaymentID: r.ID, Kind: opAuthorize, Amount: r.Amount,
			IdemKey: key, Status: opPending, CreatedAt: sqldb.Micros(now),
		})
	})
	if err != nil {
		return paymentapi.Payment{}, fmt.Errorf("authorize order %s: %w", in.OrderID, err)
	}
	if !won {
		p, err := s.await(ctx, tenant, in)
		if errors.Is(err, ErrNotFound) {
			// Not inserted, and no payment: the order voided its payment
			// before this call arrived (Void), and has given up on it.
			return paymentapi.Payment{}, &DeclineError{Reason: failureVoided}
		}
		return p, err
	}
	return s.authorizeAt(ctx, tenant, prov, r, key)
}

// authorizeAt calls the provider for the pending payment r and records the
// outcome.
func (s *Service) authorizeAt(ctx context.Context, tenant string, prov Provider, r record, key string) (paymentapi.Payment, error) {
	req := AuthRequest{Amount: money.Money{Amount: r.Amount, Currency: r.Currency}, Token: r.AuthToken, Email: r.AuthEmail, IdempotencyKey: key, OrderID: r.OrderID}
	res, err := s.callAuthorize(ctx, prov, req)
	lost := ""
	if err != nil && !isDecline(err) {
		// The answer was lost: the provider may have authorized. Asking again
		// with the same key returns the first call's outcome (or makes it
		// now); either way a success is voided below, since this caller is
		// told the payment failed.
		lost = failureCode(err)
		s.log.WarnContext(ctx, "authorization answer lost, replaying", "tenant", tenant, "order_id", r.OrderID, "err", err)
		res, err = s.callAuthorize(ctx, prov, req)
	}
	var decl *DeclineError
	switch {
	case err == nil:
		if lost == "" {
			p, kept, err := s.recordAuthorized(ctx, tenant, r, res.Ref)
			if err != nil || kept {
				return p, err
			}
			// A Void overtook this authorization: release it.
		}
		p, err := s.voidOpen(ctx, prov, unwanted{Tenant: tenant, OrderID: r.OrderID, Ref: res.Ref, Code: lost})
		if err != nil {
			return p, err
		}
		return p, outcome(p)
	case errors.As(err, &decl):
		p, err := s.recordAuthFailed(ctx, tenant, r.OrderID, decl.Reason, true)
		if err != nil {
			return p, err
		}
		return p, outcome(p)
	default:
		// Still unknown: fail the payment but leave the authorization open
		// for the sweep to settle.
		s.log.ErrorContext(ctx, "authorization outcome unknown", "tenant", tenant, "order_id", r.OrderID, "err", err)
		p, rerr := s.recordAuthFailed(ctx, tenant, r.OrderID, lost, false)
		if rerr != nil {
			return p, rerr
		}
		return p, outcome(p)
	}
}

func (s *Service) callAuthorize(ctx context.Context, prov Provider, req AuthRequest) (AuthResult, error) {
	pctx, cancel := s.providerCtx(ctx)
	defer cancel()
	res, err := prov.Authorize(pctx, req)
	if err != nil && !isDecline(err) && errors.Is(pctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return res, err
}

func isDecline(err error) bool {
	var d *DeclineError
	return errors.As(err, &d)
}

// failureCode is the failure code of an unknown outcome.
func failureCode(err error) string {
	if errors.Is(err, ErrTimeout) {
		return paymentapi.FailureTimeout
	}
	return paymentapi.FailureProviderError
}

// outcome is the answer Authorize gives for a settled payment: the same
// for the first caller and every repeat.
func outcome(p paymentapi.Payment) error {
	switch {
	case p.Status == paymentapi.StatusFailed && p.FailureCode == paymentapi.FailureTimeout:
		return ErrTimeout
	case p.Status == paymentapi.StatusFailed && p.FailureCode == paymentapi.FailureProviderError:
		return ErrProvider
	case p.Status == paymentapi.StatusFailed, p.Status == paymentapi.StatusVoided && p.FailureCode != "":
		return &DeclineError{Reason: p.FailureCode}
	}
	return nil
}

// recordAuthorized records the authorization of a still pending payment,
// with its event; kept is false (and nothing written) when the payment left
// pending meanwhile (voided, or failed by the sweep). inserted is the
// payment as Authorize inserted it: the first attempt writes over it
// without reading the row, as save's version check fails unless the row is
// still exactly that (pending). Any change since (every one bumps the
// version) makes it errStale, and the retry reads the row and decides on
// what it finds, as a read first would have.
func (s *Service) recordAuthorized(ctx context.Context, tenant string, inserted record, ref string) (p paymentapi.Payment, kept bool, err error) {
	ctx, cancel := detached(ctx)
	defer cancel()
	known := true
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *paymentdb.Queries) error {
		p, kept = paymentapi.Payment{}, false
		r := inserted
		if !known {
			var err error
			if r, err = byOrder(ctx, q, tenant, inserted.OrderID); err != nil {
				return err
			}
		}
		known = false
		if kept = r.Status == paymentapi.StatusPending; !kept {
			return nil
		}
		if err := s.finishAuthOp(ctx, q, tenant, r, opResult{Status: opSucceeded, Ref: ref}); err != nil {
			return err
		}
		r = r.authorized(ref, s.now())
		if err := save(ctx, q, tenant, &r); err != nil {
			return err
		}
		// Nothing captured yet, so no refunds to list.
		p = r.payment(nil)
		return addEvent(ctx, tx, paymentapi.SubjectAuthorized, r, nil, r.Amount)
	})
	if err != nil {
		return p, false, fmt.Errorf("record authorization of order %s: %w", inserted.OrderID, err)
	}
	return p, kept, nil
}

// recordAuthFailed fails a pending payment with code (and its event); a
// payment already voided or failed keeps its status. close says the
// outcome at the provider is known (nothing is held), else the sweep
// settles it later.
func (s *Service) recordAuthFailed(ctx context.Context, tenant, orderID, code string, close bool) (paymentapi.Payment, error) {
	ctx, cancel := detached(ctx)
	defer cancel()
	var p paymentapi.Payment
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *paymentdb.Queries) error {
		r, err := byOrder(ctx, q, tenant, orderID)
		if err != nil {
			return err
		}
		wasPending := r.Status == paymentapi.StatusPending
		if close {
			if err := s.finishAuthOp(ctx, q, tenant, r, opResult{Status: opFailed, Reason: code}); err != nil {
				return err
			}
			r = r.closeAuth(s.now())
		}
		if wasPending {
			r.Status, r.FailureCode, r.UpdatedAt = paymentapi.StatusFailed, code, s.now()
		}
		if err := save(ctx, q, tenant, &r); err != nil {
			return err
		}
		p = r.payment(nil)
		if !wasPending {
			return nil
		}
		return addEvent(ctx, tx, paymentapi.SubjectFailed, r, nil, r.Amount)
	})
	if err != nil {
		return p, fmt.Errorf("record failed authorization of order %s: %w", orderID, err)
	}
	return p, nil
}

// unwanted is an authorization that must not stand (its answer was lost,
// or a Void overtook it): the order's in Tenant, the provider's reference
// Ref, and Code, the failure code of a payment still pending ("" for
// abandoned).
type unwanted struct {
	Tenant, OrderID, Ref, Code string
}

// voidOpen releases the unwanted authorization u at prov, then records it:
// the payment, if still pending, fails with u.Code. If the void's own
// outcome is unknown the authorization stays open for the sweep.
func (s *Service) voidOpen(ctx context.Context, prov Provider, u unwanted) (paymentapi.Payment, error) {
	tenant, orderID, ref, code := u.Tenant, u.OrderID, u.Ref, u.Code
	pctx, cancel := s.providerCtx(ctx)
	verr := prov.Void(pctx, ref, providerKey(tenant, orderID, opVoid, ""))
	cancel()
	if verr != nil {
		s.log.ErrorContext(ctx, "void of unwanted authorization", "tenant", tenant, "order_id", orderID, "err", verr)
	}
	ctx, cancel = detached(ctx)
	defer cancel()
	var p paymentapi.Payment
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, q *paymentdb.Queries) error {
		r, err := byOrder(ctx, q, tenant, orderID)
		if err != nil {
			return err
		}
		if !r.AuthOpen {
			p = r.payment(nil) // settled by a concurrent caller
			return nil
		}
		wasPending := r.Status == paymentapi.StatusPending
		r.ProviderRef, r.UpdatedAt = ref, s.now()
		if verr == nil {
			if err := s.finishAuthOp(ctx, q, tenant, r, opResult{Status: opSucceeded, Ref: ref}); err != nil {
				return err
			}
			if err := s.addOp(ctx, q, r, operation{TenantID: tenant, Kind: opVoid, IdemKey: providerKey(tenant, orderID, opVoid, ""),
				ProviderRef: ref, Status: opSucceeded}); err != nil {
				return err
			}
			r = r.closeAuth(s.now())
		}
		if wasPending {
			if code == "" {
				code = paymentapi.FailureAbandoned
			}
			r.Status, r.FailureCode = paymentapi.StatusFailed, code
		}
		if err := save(ctx, q, tenant, &r); err != nil {
			return err
		}
		p = r.payment(nil)
		if !wasPending {
			return nil
		}
		return addEvent(ctx, tx, paymentapi.SubjectFailed, r, nil, r.Amount)
	})
	if err != nil {
		return p, fmt.Errorf("record void of order %s: %w", orderID, err)
	}
	if verr != nil && p.Status != paymentapi.StatusFailed && p.Status != paymentapi.StatusVoided {
		return p, fmt.Errorf("%w: void authorization of order %s: %w", ErrProvider, orderID, verr)
	}
	return p, nil
}

// finishAuthOp records the outcome of r's authorize operation (res's
// Status, Ref and Reason) if still pending; one recorded first (by a
// concurrent settler) is left as it is.
func (s *Service) finishAuthOp(ctx context.Context, q *paymentdb.Queries, tenant string, r record, res opResult) error {
	res.Tenant, res.PaymentID, res.Kind, res.At = tenant, r.ID, opAuthorize, s.now()
	res.Key = providerKey(tenant, r.OrderID, opAuthorize, "")
	_, err := finishOp(ctx, q, res)
	return err
}

// await waits for the first Authorize of the order to settle and returns
// its outcome. Bounded: a payment still pending after pollMax is ErrPending
// (or, once older than the lease, settled as abandoned).
func (s *Service) await(ctx context.Context, tenant string, in paymentapi.AuthorizeRequest) (paymentapi.Payment, error) {
	deadline := time.Now().Add(s.pollMax)
	wait := 2 * time.Millisecond
	for {
		r, p, err := s.readView(ctx, tenant, in.OrderID)
		if err != nil {
			return paymentapi.Payment{}, err
		}
		if r.Amount != in.Amount.Amount || r.Currency != in.Amount.Currency {
			return paymentapi.Payment{}, fmt.Errorf("%w: authorized %d %s, asked %s", ErrMismatch, r.Amount, r.Currency, in.Amount)
		}
		if r.Status == paymentapi.StatusPending && s.stale(r) {
			if r, err = s.abandon(ctx, tenant, r); err != nil {
				return paymentapi.Payment{}, err
			}
			if p, err = s.view(ctx, tenant, r); err != nil {
				return p, err
			}
		}
		if r.Status != paymentapi.StatusPending {
			return p, outcome(p)
		}
		if time.Now().After(deadline) {
			return paymentapi.Payment{}, ErrPending
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return paymentapi.Payment{}, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}
