-- name: UpsertBuyer :one
-- The buyer of an order, from its events, and whether the order is
-- cancelled. A token hash or a customer, once known, stays: events that
-- carry none (shipments, refunds) change nothing, and an order never loses
-- its customer. cancelled_at, once set (by the cancellation), stays. The
-- upsert writes the row whatever it holds, so on PostgreSQL it holds the
-- row's lock until the transaction ends: the events of one order handled
-- at once (two replicas) take turns, and each sees what the one before it
-- committed.
INSERT INTO buyers (tenant_id, order_id, customer_id, token_hash, email_hash, cancelled_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), sqlc.arg(customer_id), sqlc.arg(token_hash), sqlc.arg(email_hash),
    sqlc.arg(cancelled_at))
ON CONFLICT (tenant_id, order_id) DO UPDATE SET
    customer_id = CASE WHEN excluded.customer_id <> '' THEN excluded.customer_id ELSE buyers.customer_id END,
    token_hash = CASE WHEN excluded.token_hash <> '' THEN excluded.token_hash ELSE buyers.token_hash END,
    email_hash = CASE WHEN excluded.email_hash <> '' THEN excluded.email_hash ELSE buyers.email_hash END,
    cancelled_at = CASE WHEN buyers.cancelled_at = 0 THEN excluded.cancelled_at ELSE buyers.cancelled_at END
RETURNING cancelled_at;

-- name: ClaimBuyers :execrows
-- Gives a customer who verified their email the store's guest orders of
-- that email (the order service's rule); orders with a customer keep theirs.
UPDATE buyers SET customer_id = sqlc.arg(customer_id)
WHERE tenant_id = sqlc.arg(tenant_id) AND email_hash = sqlc.arg(email_hash) AND customer_id = '';

-- name: GetBuyer :one
SELECT customer_id, token_hash FROM buyers
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id);
