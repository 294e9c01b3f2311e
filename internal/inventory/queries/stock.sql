-- name: EnsureLocation :exec
INSERT INTO locations (tenant_id, code, name, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(code), sqlc.arg(name), sqlc.arg(created_at))
ON CONFLICT (tenant_id, code) DO NOTHING;

-- name: EnsureItem :exec
INSERT INTO items (tenant_id, sku, low, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(sku), 0, sqlc.arg(created_at), sqlc.arg(created_at))
ON CONFLICT (tenant_id, sku) DO NOTHING;

-- name: SetThreshold :exec
INSERT INTO items (tenant_id, sku, low_stock_threshold, low, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(sku), sqlc.arg(threshold), 0, sqlc.arg(updated_at), sqlc.arg(updated_at))
ON CONFLICT (tenant_id, sku) DO UPDATE SET
    low_stock_threshold = excluded.low_stock_threshold, updated_at = excluded.updated_at;

-- name: GetItem :one
SELECT * FROM items WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku);

-- name: MarkLow :execrows
-- Guarded by the flag: of concurrent writers crossing the threshold, one
-- sets it and announces the crossing.
UPDATE items SET low = 1, updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku) AND low = 0;

-- name: ClearLow :execrows
UPDATE items SET low = 0, updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku) AND low = 1;

-- name: LowState :one
-- What the low-stock check needs in one read: the SKU's own threshold, its
-- low mark and its available stock over every location. No row means the
-- SKU was never stocked.
SELECT i.low_stock_threshold, i.low,
       CAST((SELECT COALESCE(SUM(s.on_hand - s.reserved), 0) FROM stock s
             WHERE s.tenant_id = i.tenant_id AND s.sku = i.sku) AS BIGINT) AS available
FROM items i
WHERE i.tenant_id = sqlc.arg(tenant_id) AND i.sku = sqlc.arg(sku);

-- name: ListSKUStock :many
-- The default location first, then by code.
SELECT * FROM stock WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku)
ORDER BY CASE WHEN location = 'default' THEN 0 ELSE 1 END, location;

-- name: ListStockRange :many
SELECT * FROM stock
WHERE tenant_id = sqlc.arg(tenant_id) AND sku >= sqlc.arg(first_sku) AND sku <= sqlc.arg(last_sku)
ORDER BY sku, CASE WHEN location = 'default' THEN 0 ELSE 1 END, location;

-- name: ReserveStock :one
-- The decrement of available stock: one conditional statement. No row back
-- means the location lacks the stock; the CHECKs stand behind it. It also
-- returns what the low-stock check needs (LowState), so a reservation reads
-- nothing more: the SKU's available stock at its other locations (rows this
-- statement does not change, so both engines see the same), its low mark
-- and its own threshold.
UPDATE stock SET reserved = stock.reserved + sqlc.arg(quantity), updated_at = sqlc.arg(updated_at)
WHERE stock.tenant_id = sqlc.arg(tenant_id) AND stock.sku = sqlc.arg(sku) AND stock.location = sqlc.arg(location)
  AND stock.on_hand - stock.reserved >= sqlc.arg(quantity)
RETURNING stock.on_hand, stock.reserved,
    CAST((SELECT COALESCE(SUM(o.on_hand - o.reserved), 0) FROM stock o
          WHERE o.tenant_id = stock.tenant_id AND o.sku = stock.sku AND o.location <> stock.location) AS BIGINT) AS elsewhere,
    CAST((SELECT i.low FROM items i WHERE i.tenant_id = stock.tenant_id AND i.sku = stock.sku) AS BIGINT) AS low,
    CAST((SELECT COALESCE(i.low_stock_threshold, -1) FROM items i WHERE i.tenant_id = stock.tenant_id AND i.sku = stock.sku) AS BIGINT) AS own_threshold;

-- name: CandidateLocations :many
-- Other locations that had enough for a line when read; ReserveStock still
-- decides.
SELECT location FROM stock
WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku) AND location <> sqlc.arg(skip)
  AND on_hand - reserved >= sqlc.arg(quantity)
ORDER BY on_hand - reserved DESC, location;

-- name: MaxAvailable :one
-- The most one line can get: a line is served from a single location.
SELECT CAST(COALESCE(MAX(on_hand - reserved), 0) AS BIGINT) AS available
FROM stock WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku);

-- name: UnreserveStock :one
UPDATE stock SET reserved = reserved - sqlc.arg(quantity), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku) AND location = sqlc.arg(location)
  AND reserved >= sqlc.arg(quantity)
RETURNING on_hand, reserved;

-- name: CommitStock :one
UPDATE stock SET on_hand = on_hand - sqlc.arg(quantity), reserved = reserved - sqlc.arg(quantity),
    updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku) AND location = sqlc.arg(location)
  AND reserved >= sqlc.arg(quantity)
RETURNING on_hand, reserved;

-- name: AddStock :one
INSERT INTO stock (tenant_id, sku, location, on_hand, reserved, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(sku), sqlc.arg(location), sqlc.arg(quantity), 0, sqlc.arg(updated_at))
ON CONFLICT (tenant_id, sku, location) DO UPDATE SET
    on_hand = stock.on_hand + excluded.on_hand, updated_at = excluded.updated_at
RETURNING on_hand, reserved;

-- name: RemoveStock :one
-- Takes stock off the shelf, never below what is reserved.
UPDATE stock SET on_hand = on_hand - sqlc.arg(quantity), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku) AND location = sqlc.arg(location)
  AND on_hand - sqlc.arg(quantity) >= reserved
RETURNING on_hand, reserved;

-- name: CreateEmptyStock :execrows
INSERT INTO stock (tenant_id, sku, location, on_hand, reserved, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(sku), sqlc.arg(location), 0, 0, sqlc.arg(updated_at))
ON CONFLICT (tenant_id, sku, location) DO NOTHING;

-- name: CountStock :one
SELECT COUNT(*) FROM stock WHERE tenant_id = sqlc.arg(tenant_id);

-- name: ListItems :many
-- A page of SKUs after a cursor, with their totals over every location.
SELECT i.sku, i.low_stock_threshold,
       CAST(COALESCE(SUM(s.on_hand), 0) AS BIGINT) AS on_hand,
       CAST(COALESCE(SUM(s.reserved), 0) AS BIGINT) AS reserved
FROM items i
LEFT JOIN stock s ON s.tenant_id = i.tenant_id AND s.sku = i.sku
WHERE i.tenant_id = sqlc.arg(tenant_id) AND i.sku > sqlc.arg(after)
GROUP BY i.sku, i.low_stock_threshold
ORDER BY i.sku
LIMIT sqlc.arg(lim);

-- name: ListLowItems :many
-- ListItems for SKUs at or below their threshold (default_threshold when
-- the SKU has none).
SELECT i.sku, i.low_stock_threshold,
       CAST(COALESCE(SUM(s.on_hand), 0) AS BIGINT) AS on_hand,
       CAST(COALESCE(SUM(s.reserved), 0) AS BIGINT) AS reserved
FROM items i
LEFT JOIN stock s ON s.tenant_id = i.tenant_id AND s.sku = i.sku
WHERE i.tenant_id = sqlc.arg(tenant_id) AND i.sku > sqlc.arg(after)
GROUP BY i.sku, i.low_stock_threshold
HAVING COALESCE(SUM(s.on_hand), 0) - COALESCE(SUM(s.reserved), 0)
       <= COALESCE(i.low_stock_threshold, CAST(sqlc.arg(default_threshold) AS BIGINT))
ORDER BY i.sku
LIMIT sqlc.arg(lim);
