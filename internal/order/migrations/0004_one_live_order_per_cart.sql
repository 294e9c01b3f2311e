-- +goose Up
-- One cart, one live order: two checkouts of the same cart with different
-- Idempotency-Keys (two tabs, a double click) must not both charge. A
-- cancelled order frees its cart.
CREATE UNIQUE INDEX orders_live_cart ON orders (tenant_id, cart_id) WHERE cart_id <> '' AND status <> 'cancelled';

-- +goose Down
DROP INDEX orders_live_cart;
