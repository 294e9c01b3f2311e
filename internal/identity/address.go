package identity

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/identity/identitydb"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/text"
)

// checkAddress validates an address as it will be stored.
func checkAddress(a identitydb.Address) error {
	checks := []*kit.FieldError{
		checkWith("name", a.Name, text.Name),
		checkWith("line1", a.Line1, func(s string) error { return text.AddressLine(s, true) }),
		checkWith("line2", a.Line2, func(s string) error { return text.AddressLine(s, false) }),
		checkWith("city", a.City, text.City),
		checkWith("region", a.Region, text.Region),
		checkWith("postal_code", a.PostalCode, func(s string) error { return text.PostalCode(s, false) }),
		checkWith("country", a.Country, text.Country),
		checkPhone("phone", a.Phone),
	}
	return texts(checks...)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Addresses returns a customer's address book, default first.
func (s *Service) Addresses(ctx context.Context, customerID string) (identityapi.AddressList, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.AddressList{}, err
	}
	rows, err := kit.ReadOne(ctx, s.st, func(q *identitydb.Queries) ([]identitydb.Address, error) {
		return q.ListAddresses(ctx, identitydb.ListAddressesParams{TenantID: tenant, CustomerID: customerID})
	})
	if err != nil {
		return identityapi.AddressList{}, fmt.Errorf("list addresses: %w", err)
	}
	out := identityapi.AddressList{Items: make([]identityapi.Address, len(rows))}
	for i, r := range rows {
		out.Items[i] = toAddress(r)
	}
	return out, nil
}

// AddAddress adds an address to a customer's book (at most MaxAddresses).
// The first address, or one marked default, becomes the default.
func (s *Service) AddAddress(ctx context.Context, customerID string, in identityapi.AddressInput) (identityapi.Address, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Address{}, err
	}
	now := sqldb.Micros(s.now())
	a := identitydb.Address{TenantID: tenant, ID: kit.NewID(), CustomerID: customerID, Name: in.Name, Line1: in.Line1,
		Line2: in.Line2, City: in.City, Region: in.Region, PostalCode: in.PostalCode, Country: in.Country, Phone: in.Phone,
		IsDefault: boolInt(in.IsDefault), CreatedAt: now, UpdatedAt: now}
	if err := checkAddress(a); err != nil {
		return identityapi.Address{}, err
	}
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		if _, err := q.GetCustomer(ctx, identitydb.GetCustomerParams{TenantID: tenant, ID: customerID}); err != nil {
			return noRows(err, ErrNotFound, "load customer")
		}
		n, err := q.CountAddresses(ctx, identitydb.CountAddressesParams{TenantID: tenant, CustomerID: customerID})
		if err != nil {
			return fmt.Errorf("count addresses: %w", err)
		}
		if n >= identityapi.MaxAddresses {
			return ErrTooManyAddresses
		}
		if n == 0 {
			a.IsDefault = 1
		}
		if a.IsDefault == 1 {
			if err := q.ClearDefaultAddress(ctx, identitydb.ClearDefaultAddressParams{UpdatedAt: now, TenantID: tenant, CustomerID: customerID, KeepID: a.ID}); err != nil {
				return fmt.Errorf("clear default address: %w", err)
			}
		}
		return q.InsertAddress(ctx, identitydb.InsertAddressParams(a))
	})
	if err != nil {
		return identityapi.Address{}, fmt.Errorf("add address: %w", err)
	}
	return toAddress(a), nil
}

// UpdateAddress changes an address of a customer's book; absent fields
// stay. Making it the default takes that from the previous default.
func (s *Service) UpdateAddress(ctx context.Context, customerID, id string, in identityapi.AddressUpdate) (identityapi.Address, error) {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return identityapi.Address{}, err
	}
	var a identitydb.Address
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		var err error
		a, err = q.GetAddress(ctx, identitydb.GetAddressParams{TenantID: tenant, CustomerID: customerID, ID: id})
		if err != nil {
			return noRows(err, ErrAddressNotFound, "load address")
		}
		for _, f := range []struct {
			dst *string
			src *string
		}{{&a.Name, in.Name}, {&a.Line1, in.Line1}, {&a.Line2, in.Line2}, {&a.City, in.City}, {&a.Region, in.Region},
			{&a.PostalCode, in.PostalCode}, {&a.Country, in.Country}, {&a.Phone, in.Phone}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if in.IsDefault != nil {
			a.IsDefault = boolInt(*in.IsDefault)
		}
		if err := checkAddress(a); err != nil {
			return err
		}
		a.UpdatedAt = sqldb.Micros(s.now())
		if a.IsDefault == 1 {
			if err := q.ClearDefaultAddress(ctx, identitydb.ClearDefaultAddressParams{UpdatedAt: a.UpdatedAt, TenantID: tenant, CustomerID: customerID, KeepID: a.ID}); err != nil {
				return fmt.Errorf("clear default address: %w", err)
			}
		}
		_, err = q.UpdateAddress(ctx, identitydb.UpdateAddressParams{Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City,
			Region: a.Region, PostalCode: a.PostalCode, Country: a.Country, Phone: a.Phone, IsDefault: a.IsDefault,
			UpdatedAt: a.UpdatedAt, TenantID: tenant, CustomerID: customerID, ID: id})
		return err
	})
	if err != nil {
		return identityapi.Address{}, fmt.Errorf("update address %s: %w", id, err)
	}
	return toAddress(a), nil
}

// DeleteAddress removes an address from a customer's book.
func (s *Service) DeleteAddress(ctx context.Context, customerID, id string) error {
	tenant, err := tenancy.ID(ctx)
	if err != nil {
		return err
	}
	err = s.st.Write(ctx, func(ctx context.Context, _ *sql.Tx, q *identitydb.Queries) error {
		n, err := q.DeleteAddress(ctx, identitydb.DeleteAddressParams{TenantID: tenant, CustomerID: customerID, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrAddressNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete address %s: %w", id, err)
	}
	return nil
}
