-- name: GetVariant :one
SELECT * FROM variants WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku);

-- name: ProductVersion :one
SELECT updated_at FROM products WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id);

-- name: PutProductVersion :exec
INSERT INTO products (tenant_id, product_id, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(product_id), sqlc.arg(updated_at))
ON CONFLICT (tenant_id, product_id) DO UPDATE SET updated_at = excluded.updated_at;

-- name: DeleteProductVariants :exec
DELETE FROM variants WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id);

-- name: PutVariant :exec
-- A SKU that moved to this product from another takes the row over, unless
-- the row comes from a newer snapshot (events of two products may cross).
INSERT INTO variants (tenant_id, sku, product_id, variant_id, title, category_id, price, currency, active,
    product_updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(sku), sqlc.arg(product_id), sqlc.arg(variant_id), sqlc.arg(title),
    sqlc.arg(category_id), sqlc.arg(price), sqlc.arg(currency), sqlc.arg(active), sqlc.arg(product_updated_at))
ON CONFLICT (tenant_id, sku) DO UPDATE SET
    product_id = excluded.product_id, variant_id = excluded.variant_id, title = excluded.title,
    category_id = excluded.category_id, price = excluded.price, currency = excluded.currency,
    active = excluded.active, product_updated_at = excluded.product_updated_at
WHERE variants.product_id = excluded.product_id OR variants.product_updated_at < excluded.product_updated_at;

-- name: CountVariants :one
SELECT COUNT(*) FROM variants WHERE tenant_id = sqlc.arg(tenant_id);
