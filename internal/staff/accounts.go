package staff

import (
	"context"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/identity/identityapi"
)

// Accounts is what the staff service needs of the identity service
// (identityapi.Client): the staff account with an ID in the store in ctx,
// or an error matching identityapi.ErrNotFound when the store has none.
type Accounts interface {
	Staff(ctx context.Context, id string) (identityapi.Staff, error)
}

// Option changes how New builds the service.
type Option func(*Service)

// WithAccounts makes the service check that an employee's account_id names
// a staff account of the same store. Without it (a staff service deployed
// without identity) employees can still be kept, but linking one to an
// account is refused with ErrAccountsUnavailable: an ID that cannot be
// checked is never accepted.
func WithAccounts(a Accounts) Option {
	return func(s *Service) { s.accounts = a }
}

// ErrAccountsUnavailable is returned when an account_id cannot be checked
// now because the identity service is not there or not answering.
var ErrAccountsUnavailable = errors.New("staff: staff accounts cannot be checked now")

// checkAccount checks that id (already of the right form) is a staff
// account of the store in ctx. It runs before the write transaction: the
// call to identity must not hold the database's write lock.
func (s *Service) checkAccount(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if s.accounts == nil {
		return ErrAccountsUnavailable
	}
	_, err := s.accounts.Staff(ctx, id)
	switch {
	case errors.Is(err, identityapi.ErrNotFound):
		return invalid(FieldError{Field: "account_id", Message: "no staff account of this store has this ID", Value: id})
	case err != nil:
		return fmt.Errorf("%w: %w", ErrAccountsUnavailable, err)
	}
	return nil
}
