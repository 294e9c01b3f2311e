-- name: ListLines :many
-- A cart's lines in the order they were added (line IDs are UUIDv7), each
-- with its SKU's current projected product; an SKU the projection does not
-- know (yet) comes back with empty product columns and active false.
SELECT l.id, l.sku, l.quantity,
    CAST(COALESCE(s.product_id, '') AS TEXT) AS product_id,
    CAST(COALESCE(s.variant_id, '') AS TEXT) AS variant_id,
    CAST(COALESCE(s.title, '') AS TEXT) AS title,
    CAST(COALESCE(s.image_url, '') AS TEXT) AS image_url,
    CAST(COALESCE(s.price, 0) AS BIGINT) AS price,
    CAST(COALESCE(s.currency, '') AS TEXT) AS currency,
    CAST(COALESCE(s.active, FALSE) AS BOOLEAN) AS active
FROM cart_lines l
LEFT JOIN catalog_skus s ON s.tenant_id = l.tenant_id AND s.sku = l.sku
WHERE l.tenant_id = sqlc.arg(tenant_id) AND l.cart_id = sqlc.arg(cart_id)
ORDER BY l.id;

-- name: InsertLine :exec
INSERT INTO cart_lines (tenant_id, cart_id, id, sku, quantity, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(cart_id), sqlc.arg(id), sqlc.arg(sku), sqlc.arg(quantity),
    sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: SetLineQuantity :execrows
UPDATE cart_lines SET quantity = sqlc.arg(quantity), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND cart_id = sqlc.arg(cart_id) AND id = sqlc.arg(id);

-- name: DeleteLine :execrows
DELETE FROM cart_lines
WHERE tenant_id = sqlc.arg(tenant_id) AND cart_id = sqlc.arg(cart_id) AND id = sqlc.arg(id);
