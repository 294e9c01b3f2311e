-- Ledger rows are written by addMovements (store.go), several in one
-- multi-row INSERT, which sqlc cannot generate.

-- name: ListMovements :many
-- Newest first, before a cursor (an ID; the greatest UUID for the first page).
SELECT * FROM movements
WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku) AND id < sqlc.arg(before)
ORDER BY id DESC
LIMIT sqlc.arg(lim);

-- name: ListAllMovements :many
SELECT * FROM movements
WHERE tenant_id = sqlc.arg(tenant_id) AND id < sqlc.arg(before)
ORDER BY id DESC
LIMIT sqlc.arg(lim);

-- name: AuditNegativeStock :one
SELECT COUNT(*) FROM stock
WHERE tenant_id = sqlc.arg(tenant_id) AND (on_hand < 0 OR reserved < 0 OR reserved > on_hand);

-- name: AuditLedgerMismatches :one
-- Stock rows whose on_hand or reserved differ from the sum of their ledger.
SELECT COUNT(*) FROM stock s
WHERE s.tenant_id = sqlc.arg(tenant_id) AND (
    s.on_hand <> (SELECT COALESCE(SUM(m.delta_on_hand), 0) FROM movements m
                  WHERE m.tenant_id = s.tenant_id AND m.sku = s.sku AND m.location = s.location)
 OR s.reserved <> (SELECT COALESCE(SUM(m.delta_reserved), 0) FROM movements m
                  WHERE m.tenant_id = s.tenant_id AND m.sku = s.sku AND m.location = s.location));

-- name: AuditExpiredHeld :one
SELECT COUNT(*) FROM reservations
WHERE tenant_id = sqlc.arg(tenant_id) AND status = 'held' AND expires_at < sqlc.arg(now);

-- name: AuditReservedMismatches :one
-- Stock rows whose reserved differs from the lines of held reservations:
-- the held lines are summed per SKU and location in one pass (held
-- reservations through reservations_due, their lines through the key),
-- then compared.
SELECT COUNT(*) FROM stock s
LEFT JOIN (
    SELECT l.sku, l.location, SUM(l.quantity) AS quantity
    FROM reservations r
    JOIN reservation_lines l ON l.tenant_id = r.tenant_id AND l.order_id = r.order_id
    WHERE r.tenant_id = sqlc.arg(tenant_id) AND r.status = 'held'
    GROUP BY l.sku, l.location
) h ON h.sku = s.sku AND h.location = s.location
WHERE s.tenant_id = sqlc.arg(tenant_id) AND s.reserved <> COALESCE(h.quantity, 0);
