-- +goose Up
-- The address invoices bill, as JSON like address; '' when the order bills
-- its shipping address (every order placed before).
ALTER TABLE orders ADD COLUMN billing_address TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE orders DROP COLUMN billing_address;
