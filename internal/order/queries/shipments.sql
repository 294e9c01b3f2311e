-- name: InsertShipment :exec
INSERT INTO shipments (tenant_id, id, order_id, carrier, tracking_number, tracking_url, status, events,
    created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(order_id), sqlc.arg(carrier), sqlc.arg(tracking_number),
    sqlc.arg(tracking_url), sqlc.arg(status), sqlc.arg(events), sqlc.arg(created_at), sqlc.arg(created_at));

-- name: ListShipments :many
SELECT * FROM shipments
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id)
ORDER BY created_at, id;

-- name: UpdateShipment :execrows
UPDATE shipments SET status = sqlc.arg(status), events = sqlc.arg(events), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND order_id = sqlc.arg(order_id);

-- name: DeleteShipments :exec
-- Undoes a first shipment whose capture was refused.
DELETE FROM shipments WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id);

-- name: InsertReturn :exec
INSERT INTO returns (tenant_id, id, order_id, status, lines, refund_amount, reason, request_key, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(order_id), sqlc.arg(status), sqlc.arg(lines),
    sqlc.arg(refund_amount), sqlc.arg(reason), sqlc.arg(request_key), sqlc.arg(created_at), sqlc.arg(created_at));

-- name: ListReturns :many
SELECT * FROM returns
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id)
ORDER BY created_at, id;

-- name: UpdateReturn :execrows
UPDATE returns SET status = sqlc.arg(status), lines = sqlc.arg(lines), refund_amount = sqlc.arg(refund_amount),
    updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND order_id = sqlc.arg(order_id)
  AND status = sqlc.arg(old_status);

-- name: StaleReturns :many
-- Returns of every tenant left receiving since stale_before, oldest first:
-- their decision is written, their restock or refund did not finish.
SELECT tenant_id, order_id, id FROM returns
WHERE status = 'receiving' AND updated_at < sqlc.arg(stale_before)
ORDER BY updated_at
LIMIT sqlc.arg(max_rows);
