package staff

import (
	"context"
	"errors"
	"fmt"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/kit"
)

// Accounts is what the staff service needs of the identity service
// (identityapi.Client): the staff account with an ID in the store in ctx,
// or an error matching identityapi.ErrNotFound when the store has none.
type Accounts interface {
	Staff(ctx context.Context, id string) (identityapi.Staff, error)
}

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
		return kit.Invalid(ErrInvalid, kit.FieldError{Field: "account_id", Message: "no staff account of this store has this ID", Value: id})
	case err != nil:
		return fmt.Errorf("%w: %w", ErrAccountsUnavailable, err)
	}
	return nil
}
