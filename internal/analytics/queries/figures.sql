-- name: GetStore :one
SELECT time_zone, currency FROM stores WHERE tenant_id = sqlc.arg(tenant_id);

-- name: OrderCurrencies :many
-- The currencies of the store's counted orders, the most used first.
SELECT currency, COUNT(*) AS orders FROM orders
WHERE tenant_id = sqlc.arg(tenant_id) AND confirmed = 1 AND cancelled = 0
GROUP BY currency
ORDER BY orders DESC, currency;

-- name: CountedOrders :many
-- The orders that count (confirmed, never cancelled) placed in [from, until)
-- in a currency, with the units returned of each.
SELECT o.order_id, o.placed_at, o.customer, o.total, o.tax, o.refunded, o.units,
    CAST(COALESCE((SELECT SUM(r.units) FROM returns r WHERE r.tenant_id = o.tenant_id AND r.order_id = o.order_id), 0) AS BIGINT) AS returned
FROM orders o
WHERE o.tenant_id = sqlc.arg(tenant_id) AND o.currency = sqlc.arg(currency) AND o.confirmed = 1 AND o.cancelled = 0
  AND o.placed_at >= sqlc.arg(from_at) AND o.placed_at < sqlc.arg(until_at)
ORDER BY o.placed_at, o.order_id;

-- name: TopProducts :many
SELECT l.product_id,
    CAST(COALESCE(MAX(p.title), MAX(l.title)) AS TEXT) AS title,
    CAST(SUM(l.quantity) AS BIGINT) AS units,
    CAST(SUM(l.total) AS BIGINT) AS revenue
FROM order_lines l
JOIN orders o ON o.tenant_id = l.tenant_id AND o.order_id = l.order_id
LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.product_id = l.product_id
WHERE l.tenant_id = sqlc.arg(tenant_id) AND o.currency = sqlc.arg(currency) AND o.confirmed = 1 AND o.cancelled = 0
  AND o.placed_at >= sqlc.arg(from_at) AND o.placed_at < sqlc.arg(until_at)
GROUP BY l.product_id
ORDER BY revenue DESC, units DESC, l.product_id
LIMIT sqlc.arg(lim);

-- name: TopCategories :many
-- Products with no category (or none known yet) make the category ''.
SELECT CAST(COALESCE(p.category_id, '') AS TEXT) AS category_id,
    CAST(MAX(COALESCE(p.category_name, '')) AS TEXT) AS name,
    CAST(SUM(l.quantity) AS BIGINT) AS units,
    CAST(SUM(l.total) AS BIGINT) AS revenue
FROM order_lines l
JOIN orders o ON o.tenant_id = l.tenant_id AND o.order_id = l.order_id
LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.product_id = l.product_id
WHERE l.tenant_id = sqlc.arg(tenant_id) AND o.currency = sqlc.arg(currency) AND o.confirmed = 1 AND o.cancelled = 0
  AND o.placed_at >= sqlc.arg(from_at) AND o.placed_at < sqlc.arg(until_at)
GROUP BY COALESCE(p.category_id, '')
ORDER BY revenue DESC, units DESC, category_id
LIMIT sqlc.arg(lim);

-- name: Funnel :one
-- The carts opened in [from, until): how many had a checkout (an order,
-- whatever became of it) and how many an order that counts.
SELECT CAST(COUNT(*) AS BIGINT) AS created,
    CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.tenant_id = c.tenant_id AND o.cart_id = c.cart_id)
        THEN 1 ELSE 0 END), 0) AS BIGINT) AS started,
    CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.tenant_id = c.tenant_id AND o.cart_id = c.cart_id
        AND o.confirmed = 1 AND o.cancelled = 0) THEN 1 ELSE 0 END), 0) AS BIGINT) AS confirmed
FROM carts c
WHERE c.tenant_id = sqlc.arg(tenant_id) AND c.created_at >= sqlc.arg(from_at) AND c.created_at < sqlc.arg(until_at);

-- name: CustomerFirstOrders :many
-- Each customer with a counted order placed in [from, until), and when
-- their first counted order ever was placed.
SELECT f.customer, CAST(MIN(f.placed_at) AS BIGINT) AS first_at FROM orders f
WHERE f.tenant_id = sqlc.arg(tenant_id) AND f.confirmed = 1 AND f.cancelled = 0
  AND f.customer IN (SELECT o.customer FROM orders o WHERE o.tenant_id = sqlc.arg(tenant_id) AND o.confirmed = 1
      AND o.cancelled = 0 AND o.placed_at >= sqlc.arg(from_at) AND o.placed_at < sqlc.arg(until_at))
GROUP BY f.customer
ORDER BY f.customer;

-- name: CostPrices :many
SELECT sku, currency, cost_price FROM variants
WHERE tenant_id = sqlc.arg(tenant_id) AND cost_price IS NOT NULL
ORDER BY sku;

-- name: OnHandBefore :many
-- Units on hand per SKU just before a time (the sum of every change before).
SELECT sku, CAST(SUM(delta) AS BIGINT) AS units FROM stock_moves
WHERE tenant_id = sqlc.arg(tenant_id) AND at < sqlc.arg(before_at)
GROUP BY sku
ORDER BY sku;

-- name: CommittedUnits :many
-- Units that left the shelf for orders in [from, until), per SKU.
SELECT sku, CAST(SUM(-delta) AS BIGINT) AS units FROM stock_moves
WHERE tenant_id = sqlc.arg(tenant_id) AND kind = 'commit' AND at >= sqlc.arg(from_at) AND at < sqlc.arg(until_at)
GROUP BY sku
ORDER BY sku;
