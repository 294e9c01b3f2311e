-- +goose Up
-- Orders of signed-in customers carry the customer's account ID; a guest's
-- orders get it when an account with the order's email is registered
-- (identity.customer_registered.v1). email_lower is the email as identity
-- keys accounts (lowercased), for that claim; rows from before this
-- migration are backfilled with SQL's LOWER, which on SQLite folds ASCII
-- only.
ALTER TABLE orders ADD COLUMN customer_id TEXT;
ALTER TABLE orders ADD COLUMN email_lower TEXT NOT NULL DEFAULT '';
UPDATE orders SET email_lower = LOWER(email);
-- A customer's orders, newest first (GET /api/v1/me/orders).
CREATE INDEX orders_customer ON orders (tenant_id, customer_id, created_at, id);
-- Guest orders to claim by email.
CREATE INDEX orders_email_lower ON orders (tenant_id, email_lower);

-- +goose Down
DROP INDEX orders_email_lower;
DROP INDEX orders_customer;
ALTER TABLE orders DROP COLUMN email_lower;
ALTER TABLE orders DROP COLUMN customer_id;
