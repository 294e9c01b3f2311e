-- name: GetSKU :one
SELECT * FROM catalog_skus
WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku);

-- name: ProductVersion :one
SELECT updated_at FROM catalog_products
WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id);

-- name: SetProductVersion :exec
INSERT INTO catalog_products (tenant_id, product_id, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(product_id), sqlc.arg(updated_at))
ON CONFLICT (tenant_id, product_id) DO UPDATE SET updated_at = excluded.updated_at;

-- name: RetireProductSKUs :exec
-- Before a newer snapshot of a product is applied, its SKUs are marked
-- inactive; the snapshot's own SKUs are then upserted active again (if the
-- product is active), so an SKU the product dropped stays inactive.
UPDATE catalog_skus SET active = FALSE, product_updated_at = sqlc.arg(product_updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id)
  AND product_updated_at < sqlc.arg(product_updated_at);

-- name: UpsertSKU :exec
-- An SKU may move between products; the row keeps whichever snapshot is
-- newest, whichever product it came from.
INSERT INTO catalog_skus (tenant_id, sku, product_id, variant_id, title, image_url, price, currency,
    active, product_updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(sku), sqlc.arg(product_id), sqlc.arg(variant_id), sqlc.arg(title),
    sqlc.arg(image_url), sqlc.arg(price), sqlc.arg(currency), sqlc.arg(active), sqlc.arg(product_updated_at))
ON CONFLICT (tenant_id, sku) DO UPDATE SET
    product_id = excluded.product_id, variant_id = excluded.variant_id, title = excluded.title,
    image_url = excluded.image_url, price = excluded.price, currency = excluded.currency,
    active = excluded.active, product_updated_at = excluded.product_updated_at
WHERE catalog_skus.product_updated_at <= excluded.product_updated_at;
