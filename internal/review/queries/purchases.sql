-- name: PurchaseVersion :one
SELECT updated_at FROM purchases
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id);

-- name: UpsertPurchase :exec
-- An order's snapshot replaces the one held only when it is newer (events
-- of one order may arrive out of order: redelivery, a dead letter replayed).
-- A customer, once given (by an event or a registration), stays: an order
-- never loses its customer, and an event published before the order was
-- claimed may arrive after the registration that claimed it.
INSERT INTO purchases (tenant_id, order_id, customer_id, token_hash, email_hash, status, buyer_name, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), sqlc.arg(customer_id), sqlc.arg(token_hash), sqlc.arg(email_hash),
    sqlc.arg(status), sqlc.arg(buyer_name), sqlc.arg(updated_at))
ON CONFLICT (tenant_id, order_id) DO UPDATE SET
    customer_id = CASE WHEN excluded.customer_id <> '' THEN excluded.customer_id ELSE purchases.customer_id END,
    token_hash = excluded.token_hash, email_hash = excluded.email_hash, status = excluded.status,
    buyer_name = excluded.buyer_name, updated_at = excluded.updated_at
WHERE purchases.updated_at < excluded.updated_at;

-- name: ClaimPurchases :execrows
-- Gives a newly registered customer the store's guest orders of their
-- email (the order service's rule); orders with a customer keep theirs.
UPDATE purchases SET customer_id = sqlc.arg(customer_id)
WHERE tenant_id = sqlc.arg(tenant_id) AND email_hash = sqlc.arg(email_hash) AND customer_id = '';

-- name: InsertPurchaseLine :exec
INSERT INTO purchase_lines (tenant_id, order_id, sku, product_id, title)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), sqlc.arg(sku), sqlc.arg(product_id), sqlc.arg(title))
ON CONFLICT (tenant_id, order_id, sku) DO NOTHING;

-- name: GetPurchase :one
SELECT * FROM purchases
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id);

-- name: GetPurchaseLine :one
SELECT * FROM purchase_lines
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id) AND sku = sqlc.arg(sku);

-- name: ListPurchaseLines :many
SELECT * FROM purchase_lines
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id)
ORDER BY sku;
