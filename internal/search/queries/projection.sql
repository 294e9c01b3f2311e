-- name: ProductVersions :one
-- The versions of what the row holds, to drop a stale event.
SELECT product_version, rating_version FROM search_products
WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id);

-- name: PutSnapshot :exec
INSERT INTO search_products (tenant_id, product_id, snapshot, product_version, changed_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(product_id), sqlc.arg(snapshot), sqlc.arg(product_version), sqlc.arg(changed_at))
ON CONFLICT (tenant_id, product_id) DO UPDATE
SET snapshot = excluded.snapshot, product_version = excluded.product_version,
    rev = search_products.rev + 1, changed_at = excluded.changed_at;

-- name: PutRating :exec
INSERT INTO search_products (tenant_id, product_id, rating_average, rating_count, rating_version, changed_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(product_id), sqlc.arg(rating_average), sqlc.arg(rating_count), sqlc.arg(rating_version), sqlc.arg(changed_at))
ON CONFLICT (tenant_id, product_id) DO UPDATE
SET rating_average = excluded.rating_average, rating_count = excluded.rating_count,
    rating_version = excluded.rating_version, rev = search_products.rev + 1, changed_at = excluded.changed_at;

-- name: TouchProduct :exec
-- Marks a product changed (its stock did), for the indexes to read again.
UPDATE search_products SET rev = rev + 1, changed_at = sqlc.arg(changed_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id);

-- name: DeleteProductSKUs :exec
DELETE FROM search_skus WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id);

-- name: PutSKU :exec
INSERT INTO search_skus (tenant_id, sku, product_id) VALUES (sqlc.arg(tenant_id), sqlc.arg(sku), sqlc.arg(product_id))
ON CONFLICT (tenant_id, sku) DO UPDATE SET product_id = excluded.product_id;

-- name: SKUProduct :one
SELECT product_id FROM search_skus WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku);

-- name: StockVersion :one
SELECT version FROM search_stock WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku);

-- name: PutStock :exec
INSERT INTO search_stock (tenant_id, sku, available, version) VALUES (sqlc.arg(tenant_id), sqlc.arg(sku), sqlc.arg(available), sqlc.arg(version))
ON CONFLICT (tenant_id, sku) DO UPDATE SET available = excluded.available, version = excluded.version;

-- name: GetProduct :one
SELECT tenant_id, product_id, snapshot, rating_average, rating_count, rev, changed_at FROM search_products
WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id);

-- name: ProductStock :many
-- The available units of each of a product's SKUs that the inventory has
-- spoken of.
SELECT s.sku, s.available FROM search_stock s
JOIN search_skus k ON k.tenant_id = s.tenant_id AND k.sku = s.sku
WHERE k.tenant_id = sqlc.arg(tenant_id) AND k.product_id = sqlc.arg(product_id);

-- name: ChangedSince :many
-- Rows changed after a position, every tenant's, in change order: what an
-- index tails (and what a rebuild reads, from the start), a page at a time.
SELECT tenant_id, product_id, rev, changed_at FROM search_products
WHERE changed_at > sqlc.arg(after_at)
   OR (changed_at = sqlc.arg(after_at) AND (tenant_id > sqlc.arg(after_tenant)
       OR (tenant_id = sqlc.arg(after_tenant) AND product_id > sqlc.arg(after_id))))
ORDER BY changed_at, tenant_id, product_id
LIMIT sqlc.arg(lim);

-- name: Tenants :many
-- The tenants the projection holds products of.
SELECT DISTINCT tenant_id FROM search_products ORDER BY tenant_id;
