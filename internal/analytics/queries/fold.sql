-- name: UpsertStore :exec
-- The newest settings win, whatever order their events came in.
INSERT INTO stores (tenant_id, time_zone, currency, version)
VALUES (sqlc.arg(tenant_id), sqlc.arg(time_zone), sqlc.arg(currency), sqlc.arg(version))
ON CONFLICT (tenant_id) DO UPDATE SET
    time_zone = excluded.time_zone, currency = excluded.currency, version = excluded.version
WHERE stores.version <= excluded.version;

-- name: UpsertOrder :exec
-- An order's figures are fixed at checkout; what its later events change
-- only grows: refunded (the largest told), confirmed and cancelled (once
-- set, set). So the events may come in any order.
INSERT INTO orders (tenant_id, order_id, placed_at, currency, customer, cart_id, total, tax, refunded, units, confirmed, cancelled)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), sqlc.arg(placed_at), sqlc.arg(currency), sqlc.arg(customer),
    sqlc.arg(cart_id), sqlc.arg(total), sqlc.arg(tax), sqlc.arg(refunded), sqlc.arg(units), sqlc.arg(confirmed), sqlc.arg(cancelled))
ON CONFLICT (tenant_id, order_id) DO UPDATE SET
    refunded = CASE WHEN excluded.refunded > orders.refunded THEN excluded.refunded ELSE orders.refunded END,
    confirmed = CASE WHEN excluded.confirmed > orders.confirmed THEN excluded.confirmed ELSE orders.confirmed END,
    cancelled = CASE WHEN excluded.cancelled > orders.cancelled THEN excluded.cancelled ELSE orders.cancelled END;

-- name: InsertOrderLine :exec
INSERT INTO order_lines (tenant_id, order_id, line_no, sku, product_id, title, quantity, total)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), sqlc.arg(line_no), sqlc.arg(sku), sqlc.arg(product_id),
    sqlc.arg(title), sqlc.arg(quantity), sqlc.arg(total))
ON CONFLICT (tenant_id, order_id, line_no) DO NOTHING;

-- name: InsertReturn :exec
INSERT INTO returns (tenant_id, return_id, order_id, units, received_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(return_id), sqlc.arg(order_id), sqlc.arg(units), sqlc.arg(received_at))
ON CONFLICT (tenant_id, return_id) DO NOTHING;

-- name: InsertCart :exec
INSERT INTO carts (tenant_id, cart_id, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(cart_id), sqlc.arg(created_at))
ON CONFLICT (tenant_id, cart_id) DO NOTHING;

-- name: UpsertProduct :exec
INSERT INTO products (tenant_id, product_id, title, category_id, category_name, version)
VALUES (sqlc.arg(tenant_id), sqlc.arg(product_id), sqlc.arg(title), sqlc.arg(category_id), sqlc.arg(category_name), sqlc.arg(version))
ON CONFLICT (tenant_id, product_id) DO UPDATE SET
    title = excluded.title, category_id = excluded.category_id, category_name = excluded.category_name, version = excluded.version
WHERE products.version <= excluded.version;

-- name: ProductVersion :one
SELECT version FROM products WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id);

-- name: ClearVariantCosts :exec
-- The product's variants older than its newest event lose their cost: the
-- event's own are upserted next; the others are no longer in the catalog.
UPDATE variants SET cost_price = NULL, version = sqlc.arg(version)
WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id) AND version < sqlc.arg(version);

-- name: UpsertVariant :exec
INSERT INTO variants (tenant_id, sku, product_id, currency, cost_price, version)
VALUES (sqlc.arg(tenant_id), sqlc.arg(sku), sqlc.arg(product_id), sqlc.arg(currency), sqlc.narg(cost_price), sqlc.arg(version))
ON CONFLICT (tenant_id, sku) DO UPDATE SET
    product_id = excluded.product_id, currency = excluded.currency, cost_price = excluded.cost_price, version = excluded.version
WHERE variants.version <= excluded.version;

-- name: InsertStockMove :exec
INSERT INTO stock_moves (tenant_id, event_id, line_no, sku, kind, delta, at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(event_id), sqlc.arg(line_no), sqlc.arg(sku), sqlc.arg(kind), sqlc.arg(delta), sqlc.arg(at))
ON CONFLICT (tenant_id, event_id, line_no) DO NOTHING;
