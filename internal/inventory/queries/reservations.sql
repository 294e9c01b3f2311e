-- name: InsertReservation :execrows
-- Idempotent on the order ID: no row back means the order has one already.
INSERT INTO reservations (tenant_id, order_id, status, reason, expires_at, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), 'held', '', sqlc.arg(expires_at), sqlc.arg(created_at), sqlc.arg(created_at))
ON CONFLICT (tenant_id, order_id) DO NOTHING;

-- A reservation's lines are written by Reserve (reservation.go), all in one
-- multi-row INSERT, which sqlc cannot generate.

-- name: GetReservation :many
-- A reservation with its lines in one read: a row per line, in position
-- order, each with the reservation's columns. No row means no reservation
-- (the outer join would still find one without lines, though Reserve never
-- writes such a reservation).
SELECT r.status, r.reason, r.expires_at, r.created_at, r.updated_at,
       l.sku, l.location, l.quantity
FROM reservations r
LEFT JOIN reservation_lines l ON l.tenant_id = r.tenant_id AND l.order_id = r.order_id
WHERE r.tenant_id = sqlc.arg(tenant_id) AND r.order_id = sqlc.arg(order_id)
ORDER BY l.position;

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
