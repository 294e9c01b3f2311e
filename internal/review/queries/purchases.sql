-- name: PurchaseVersion :one
SELECT updated_at FROM purchases
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id);

-- name: UpsertPurchase :exec
-- An order's snapshot replaces the one held only when it is newer (events
-- of one order may arrive out of order: redelivery, a dead letter replayed).
INSERT INTO purchases (tenant_id, order_id, customer_id, token_hash, status, buyer_name, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), sqlc.arg(customer_id), sqlc.arg(token_hash), sqlc.arg(status),
    sqlc.arg(buyer_name), sqlc.arg(updated_at))
ON CONFLICT (tenant_id, order_id) DO UPDATE SET
    customer_id = excluded.customer_id, token_hash = excluded.token_hash, status = excluded.status,
    buyer_name = excluded.buyer_name, updated_at = excluded.updated_at
WHERE purchases.updated_at < excluded.updated_at;

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
