-- name: GetProduct :one
SELECT * FROM products
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: GetActiveProduct :one
-- By ID or slug; an ID match wins should a slug look like another's ID.
SELECT * FROM products
WHERE tenant_id = sqlc.arg(tenant_id) AND status = 'active'
  AND (id = CAST(sqlc.arg(key) AS TEXT) OR slug = CAST(sqlc.arg(key) AS TEXT))
ORDER BY CASE WHEN id = CAST(sqlc.arg(key) AS TEXT) THEN 0 ELSE 1 END
LIMIT 1;

-- name: ListVariants :many
SELECT * FROM variants
WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id)
ORDER BY position;

-- name: SKUOwner :one
SELECT product_id FROM variants
WHERE tenant_id = sqlc.arg(tenant_id) AND sku = sqlc.arg(sku);

-- name: ProductSlugs :many
-- The slug and its numbered forms (slug-2, slug-3...) already in use.
SELECT slug FROM products
WHERE tenant_id = sqlc.arg(tenant_id) AND (slug = sqlc.arg(slug) OR slug LIKE CAST(sqlc.arg(prefix) AS TEXT));

-- name: ProductIDBySlug :one
SELECT id FROM products
WHERE tenant_id = sqlc.arg(tenant_id) AND slug = sqlc.arg(slug);

-- name: CountProducts :one
SELECT COUNT(*) FROM products WHERE tenant_id = sqlc.arg(tenant_id);

-- name: CountLiveProducts :one
-- The products a plan limit counts: draft and active, not archived.
SELECT COUNT(*) FROM products
WHERE tenant_id = sqlc.arg(tenant_id) AND status IN ('draft', 'active');

-- name: LockProductQuota :exec
-- Serialises product creations of one store under a plan limit: the upsert
-- locks the store's row until the transaction ends (see migration 0002).
INSERT INTO product_quota_locks (tenant_id, touched_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(touched_at))
ON CONFLICT (tenant_id) DO UPDATE SET touched_at = excluded.touched_at;

-- name: InsertProduct :exec
INSERT INTO products (tenant_id, id, slug, title, description, status, category_id,
    options, attributes, images, min_price, currency, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(slug), sqlc.arg(title), sqlc.arg(description),
    sqlc.arg(status), sqlc.narg(category_id), sqlc.arg(options), sqlc.arg(attributes), sqlc.arg(images),
    sqlc.arg(min_price), sqlc.arg(currency), sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: UpdateProduct :execrows
-- Optimistic: the row changes only if nobody else changed it since it was
-- read (updated_at is the version), so a concurrent PATCH is retried rather
-- than lost. On SQLite writers are serialised and this never misses.
UPDATE products SET
    slug = sqlc.arg(slug), title = sqlc.arg(title), description = sqlc.arg(description),
    status = sqlc.arg(status), category_id = sqlc.narg(category_id), options = sqlc.arg(options),
    attributes = sqlc.arg(attributes), images = sqlc.arg(images), min_price = sqlc.arg(min_price),
    currency = sqlc.arg(currency), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND updated_at = sqlc.arg(read_at);

-- name: InsertVariant :exec
INSERT INTO variants (tenant_id, id, product_id, sku, title, price, currency, options, position, created_at, updated_at, cost_price)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(product_id), sqlc.arg(sku), sqlc.arg(title), sqlc.arg(price),
    sqlc.arg(currency), sqlc.arg(options), sqlc.arg(position), sqlc.arg(created_at), sqlc.arg(updated_at), sqlc.narg(cost_price));

-- name: UpdateVariant :exec
UPDATE variants SET
    title = sqlc.arg(title), price = sqlc.arg(price), currency = sqlc.arg(currency),
    options = sqlc.arg(options), position = sqlc.arg(position), updated_at = sqlc.arg(updated_at),
    cost_price = sqlc.narg(cost_price)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND product_id = sqlc.arg(product_id);

-- name: DeleteVariant :exec
DELETE FROM variants
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND product_id = sqlc.arg(product_id);
