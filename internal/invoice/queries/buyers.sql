-- name: UpsertBuyer :exec
-- The buyer of an order, from its events. A token hash or a customer, once
-- known, stays: events that carry none (shipments, refunds) change
-- nothing, and an order never loses its customer.
INSERT INTO buyers (tenant_id, order_id, customer_id, token_hash, email_hash)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), sqlc.arg(customer_id), sqlc.arg(token_hash), sqlc.arg(email_hash))
ON CONFLICT (tenant_id, order_id) DO UPDATE SET
    customer_id = CASE WHEN excluded.customer_id <> '' THEN excluded.customer_id ELSE buyers.customer_id END,
    token_hash = CASE WHEN excluded.token_hash <> '' THEN excluded.token_hash ELSE buyers.token_hash END,
    email_hash = CASE WHEN excluded.email_hash <> '' THEN excluded.email_hash ELSE buyers.email_hash END;

-- name: ClaimBuyers :execrows
-- Gives a customer who verified their email the store's guest orders of
-- that email (the order service's rule); orders with a customer keep theirs.
UPDATE buyers SET customer_id = sqlc.arg(customer_id)
WHERE tenant_id = sqlc.arg(tenant_id) AND email_hash = sqlc.arg(email_hash) AND customer_id = '';

-- name: GetBuyer :one
SELECT customer_id, token_hash FROM buyers
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id);
