-- name: ListNewest :many
-- One page of active products with their variants in one round trip: the
-- inner select picks the page by keyset over (created_at, id) on the index
-- products_newest; the outer join adds the variants.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION ALL
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT sqlc.embed(p), sqlc.embed(v)
FROM products p
JOIN variants v ON v.tenant_id = p.tenant_id AND v.product_id = p.id
WHERE p.tenant_id = sqlc.arg(tenant_id) AND p.id IN (
    SELECT q.id FROM products q
    WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
      AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
      AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
      AND q.created_at <= sqlc.arg(after_key)
      AND (q.created_at < sqlc.arg(after_key) OR q.id < sqlc.arg(after_id))
    ORDER BY q.created_at DESC, q.id DESC
    -- "+ 0": SQLite plans with the value of a bare LIMIT parameter and so
    -- re-prepares the statement whenever it changes; an expression it does not.
    LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0
)
ORDER BY p.created_at DESC, p.id DESC, v.position;

-- name: ListPriceAsc :many
-- One page of active products with their variants in one round trip: the
-- inner select picks the page by keyset over (min_price, id) on the index
-- products_price; the outer join adds the variants.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION ALL
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT sqlc.embed(p), sqlc.embed(v)
FROM products p
JOIN variants v ON v.tenant_id = p.tenant_id AND v.product_id = p.id
WHERE p.tenant_id = sqlc.arg(tenant_id) AND p.id IN (
    SELECT q.id FROM products q
    WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
      AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
      AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
      AND q.min_price >= sqlc.arg(after_key)
      AND (q.min_price > sqlc.arg(after_key) OR q.id > sqlc.arg(after_id))
    ORDER BY q.min_price ASC, q.id ASC
    -- "+ 0": SQLite plans with the value of a bare LIMIT parameter and so
    -- re-prepares the statement whenever it changes; an expression it does not.
    LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0
)
ORDER BY p.min_price ASC, p.id ASC, v.position;

-- name: ListPriceDesc :many
-- One page of active products with their variants in one round trip: the
-- inner select picks the page by keyset over (min_price, id) on the index
-- products_price; the outer join adds the variants.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION ALL
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT sqlc.embed(p), sqlc.embed(v)
FROM products p
JOIN variants v ON v.tenant_id = p.tenant_id AND v.product_id = p.id
WHERE p.tenant_id = sqlc.arg(tenant_id) AND p.id IN (
    SELECT q.id FROM products q
    WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
      AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
      AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
      AND q.min_price <= sqlc.arg(after_key)
      AND (q.min_price < sqlc.arg(after_key) OR q.id < sqlc.arg(after_id))
    ORDER BY q.min_price DESC, q.id DESC
    -- "+ 0": SQLite plans with the value of a bare LIMIT parameter and so
    -- re-prepares the statement whenever it changes; an expression it does not.
    LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0
)
ORDER BY p.min_price DESC, p.id DESC, v.position;

-- name: ListTitle :many
-- One page of active products with their variants in one round trip: the
-- inner select picks the page by keyset over (title, id) on the index
-- products_title; the outer join adds the variants.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION ALL
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT sqlc.embed(p), sqlc.embed(v)
FROM products p
JOIN variants v ON v.tenant_id = p.tenant_id AND v.product_id = p.id
WHERE p.tenant_id = sqlc.arg(tenant_id) AND p.id IN (
    SELECT q.id FROM products q
    WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
      AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
      AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
      AND q.title >= sqlc.arg(after_key)
      AND (q.title > sqlc.arg(after_key) OR q.id > sqlc.arg(after_id))
    ORDER BY q.title ASC, q.id ASC
    -- "+ 0": SQLite plans with the value of a bare LIMIT parameter and so
    -- re-prepares the statement whenever it changes; an expression it does not.
    LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0
)
ORDER BY p.title ASC, p.id ASC, v.position;

-- name: ListAdmin :many
-- Every status, or one, newest first: the admin list, with variants.
SELECT sqlc.embed(p), sqlc.embed(v)
FROM products p
JOIN variants v ON v.tenant_id = p.tenant_id AND v.product_id = p.id
WHERE p.tenant_id = sqlc.arg(tenant_id) AND p.id IN (
    SELECT q.id FROM products q
    WHERE q.tenant_id = sqlc.arg(tenant_id)
      AND (CAST(sqlc.arg(status) AS TEXT) = '' OR q.status = sqlc.arg(status))
      AND q.created_at <= sqlc.arg(after_key)
      AND (q.created_at < sqlc.arg(after_key) OR q.id < sqlc.arg(after_id))
    ORDER BY q.created_at DESC, q.id DESC
    -- "+ 0": SQLite plans with the value of a bare LIMIT parameter and so
    -- re-prepares the statement whenever it changes; an expression it does not.
    LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0
)
ORDER BY p.created_at DESC, p.id DESC, v.position;
