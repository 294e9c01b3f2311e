-- name: InsertReservation :execrows
-- Idempotent on the order ID: no row back means the order has one already.
INSERT INTO reservations (tenant_id, order_id, status, reason, expires_at, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), 'held', '', sqlc.arg(expires_at), sqlc.arg(created_at), sqlc.arg(created_at))
ON CONFLICT (tenant_id, order_id) DO NOTHING;

-- name: InsertReservationLine :exec
INSERT INTO reservation_lines (tenant_id, order_id, position, sku, location, quantity)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), sqlc.arg(position), sqlc.arg(sku), sqlc.arg(location), sqlc.arg(quantity));

-- name: GetReservation :one
SELECT * FROM reservations WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id);

-- name: ListReservationLines :many
SELECT * FROM reservation_lines
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id)
ORDER BY position;

-- name: CloseReservation :execrows
-- Every way out of held goes through this guard: of a concurrent commit,
-- release and expiry exactly one changes the row, the others see 0 rows.
UPDATE reservations SET status = sqlc.arg(status), reason = sqlc.arg(reason), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id) AND status = 'held';

-- name: DueReservations :many
-- Held reservations past expiry, across tenants, for the sweeper.
SELECT tenant_id, order_id FROM reservations
WHERE status = 'held' AND expires_at <= sqlc.arg(now)
ORDER BY expires_at
LIMIT sqlc.arg(lim);

-- name: InsertRestock :execrows
INSERT INTO restocks (tenant_id, reference, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(reference), sqlc.arg(created_at))
ON CONFLICT (tenant_id, reference) DO NOTHING;
