-- name: LogEvent :execrows
-- The log keeps every event once: a redelivery adds nothing.
INSERT INTO event_log (tenant_id, id, type, at, received_at, envelope)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(type), sqlc.arg(at), sqlc.arg(received_at), sqlc.arg(envelope))
ON CONFLICT (tenant_id, id) DO NOTHING;

-- name: LoggedTenants :many
-- The stores with events in the log (rebuild reads every tenant's).
SELECT DISTINCT tenant_id FROM event_log ORDER BY tenant_id;

-- name: ReplayPage :many
-- The tenant's log in the order it was received, after a key.
SELECT id, received_at, envelope FROM event_log
WHERE tenant_id = sqlc.arg(tenant_id)
  AND (received_at > sqlc.arg(after_at) OR (received_at = sqlc.arg(after_at) AND id > sqlc.arg(after_id)))
ORDER BY received_at, id
LIMIT sqlc.arg(lim);

-- name: CountLogged :one
SELECT COUNT(*) FROM event_log WHERE tenant_id = sqlc.arg(tenant_id);

-- name: ClearStores :exec
DELETE FROM stores WHERE tenant_id = sqlc.arg(tenant_id);

-- name: ClearOrders :exec
DELETE FROM orders WHERE tenant_id = sqlc.arg(tenant_id);

-- name: ClearOrderLines :exec
DELETE FROM order_lines WHERE tenant_id = sqlc.arg(tenant_id);

-- name: ClearReturns :exec
DELETE FROM returns WHERE tenant_id = sqlc.arg(tenant_id);

-- name: ClearCarts :exec
DELETE FROM carts WHERE tenant_id = sqlc.arg(tenant_id);

-- name: ClearProducts :exec
DELETE FROM products WHERE tenant_id = sqlc.arg(tenant_id);

-- name: ClearVariants :exec
DELETE FROM variants WHERE tenant_id = sqlc.arg(tenant_id);

-- name: ClearStockMoves :exec
DELETE FROM stock_moves WHERE tenant_id = sqlc.arg(tenant_id);
