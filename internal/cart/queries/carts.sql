-- name: InsertCart :exec
INSERT INTO carts (tenant_id, id, status, email, customer_id, currency, coupon, country, region,
    shipping_method, order_id, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), 'open', sqlc.arg(email), sqlc.arg(customer_id), sqlc.arg(currency),
    sqlc.arg(coupon), sqlc.arg(country), sqlc.arg(region), sqlc.arg(shipping_method), '',
    sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: GetCart :one
SELECT * FROM carts
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: TouchCart :one
-- The first statement of every change to a cart: it stamps updated_at and,
-- on PostgreSQL, locks the row until commit, so changes to one cart run one
-- after the other and each sees the lines the previous one left (the line
-- limit and the currency rule are checked, then acted on, under the lock).
-- SQLite serialises all writers anyway.
UPDATE carts SET updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id)
RETURNING *;

-- name: UpdateCart :exec
UPDATE carts SET
    email = sqlc.arg(email), currency = sqlc.arg(currency), coupon = sqlc.arg(coupon),
    country = sqlc.arg(country), region = sqlc.arg(region), shipping_method = sqlc.arg(shipping_method)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: CheckOutCart :one
-- Marks an open cart checked out; no row when the cart is gone or was
-- checked out already (a redelivered or second confirmation).
UPDATE carts SET status = 'checked_out', order_id = sqlc.arg(order_id), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND status = 'open'
RETURNING *;

-- name: ListCarts :many
-- Most recently changed first; keyset pagination on (updated_at, id).
SELECT c.id, c.status, c.email, c.customer_id, c.currency, c.order_id, c.created_at, c.updated_at,
    (SELECT COUNT(*) FROM cart_lines l WHERE l.tenant_id = c.tenant_id AND l.cart_id = c.id) AS line_count,
    (SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM cart_lines l
        WHERE l.tenant_id = c.tenant_id AND l.cart_id = c.id) AS quantity
FROM carts c
WHERE c.tenant_id = sqlc.arg(tenant_id)
  AND (CAST(sqlc.arg(status) AS TEXT) = '' OR c.status = CAST(sqlc.arg(status) AS TEXT))
  AND (c.updated_at < sqlc.arg(after_updated)
       OR (c.updated_at = sqlc.arg(after_updated) AND c.id < CAST(sqlc.arg(after_id) AS TEXT)))
ORDER BY c.updated_at DESC, c.id DESC
LIMIT sqlc.arg(page_limit);

-- name: StaleCarts :many
-- Open carts untouched since before cutoff, across tenants: the sweeper's
-- work list, oldest first, a batch at a time.
SELECT tenant_id, id FROM carts
WHERE status = 'open' AND updated_at < sqlc.arg(cutoff)
ORDER BY updated_at
LIMIT sqlc.arg(batch);

-- name: DeleteStaleCart :execrows
-- Checks again: a cart changed since StaleCarts listed it stays. Its lines
-- go with it (ON DELETE CASCADE).
DELETE FROM carts
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND status = 'open' AND updated_at < sqlc.arg(cutoff);
