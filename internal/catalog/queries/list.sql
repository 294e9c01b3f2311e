-- A list page takes two queries with the same arguments, run in one read
-- transaction so that both see the same rows: List<Sort> reads the page's
-- products, List<Sort>Variants the variants of those products. So each
-- product's columns are read once; a join repeats them on every variant row
-- and must sort the lot, which on SQLite costs more than the second query
-- and the transaction together. Both read only the columns the JSON needs.
--
-- The category CTEs use UNION, not UNION ALL: it drops rows already found,
-- so the recursion ends even if the tree had a cycle (UpdateCategory keeps
-- cycles out, but a query must not run forever on bad data).
--
-- "LIMIT ... + 0": SQLite plans with the value of a bare LIMIT parameter and
-- so re-prepares the statement whenever it changes; an expression it does not.

-- name: ListNewest :many
-- One page of active products, newest first: a keyset over (created_at, id) on the index
-- products_newest.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT q.id, q.slug, q.title, q.description, q.status, q.category_id, q.options,
    q.attributes, q.images, q.min_price, q.currency, q.created_at, q.updated_at
FROM products q
WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
  AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
  AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
  AND q.created_at <= sqlc.arg(after_key)
  AND (q.created_at < sqlc.arg(after_key) OR q.id < sqlc.arg(after_id))
ORDER BY q.created_at DESC, q.id DESC
LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0;

-- name: ListNewestVariants :many
-- The variants of the products ListNewest returns for the same arguments.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT v.product_id, v.id, v.sku, v.title, v.price, v.currency, v.options
FROM variants v
WHERE v.tenant_id = sqlc.arg(tenant_id) AND v.product_id IN (
    SELECT q.id FROM products q
    WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
      AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
      AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
      AND q.created_at <= sqlc.arg(after_key)
      AND (q.created_at < sqlc.arg(after_key) OR q.id < sqlc.arg(after_id))
    ORDER BY q.created_at DESC, q.id DESC
    LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0
)
ORDER BY v.product_id, v.position;

-- name: ListPriceAsc :many
-- One page of active products, cheapest first: a keyset over (min_price, id) on the index
-- products_price.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT q.id, q.slug, q.title, q.description, q.status, q.category_id, q.options,
    q.attributes, q.images, q.min_price, q.currency, q.created_at, q.updated_at
FROM products q
WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
  AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
  AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
  AND q.min_price >= sqlc.arg(after_key)
  AND (q.min_price > sqlc.arg(after_key) OR q.id > sqlc.arg(after_id))
ORDER BY q.min_price ASC, q.id ASC
LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0;

-- name: ListPriceAscVariants :many
-- The variants of the products ListPriceAsc returns for the same arguments.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT v.product_id, v.id, v.sku, v.title, v.price, v.currency, v.options
FROM variants v
WHERE v.tenant_id = sqlc.arg(tenant_id) AND v.product_id IN (
    SELECT q.id FROM products q
    WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
      AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
      AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
      AND q.min_price >= sqlc.arg(after_key)
      AND (q.min_price > sqlc.arg(after_key) OR q.id > sqlc.arg(after_id))
    ORDER BY q.min_price ASC, q.id ASC
    LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0
)
ORDER BY v.product_id, v.position;

-- name: ListPriceDesc :many
-- One page of active products, dearest first: a keyset over (min_price, id) on the index
-- products_price.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT q.id, q.slug, q.title, q.description, q.status, q.category_id, q.options,
    q.attributes, q.images, q.min_price, q.currency, q.created_at, q.updated_at
FROM products q
WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
  AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
  AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
  AND q.min_price <= sqlc.arg(after_key)
  AND (q.min_price < sqlc.arg(after_key) OR q.id < sqlc.arg(after_id))
ORDER BY q.min_price DESC, q.id DESC
LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0;

-- name: ListPriceDescVariants :many
-- The variants of the products ListPriceDesc returns for the same arguments.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT v.product_id, v.id, v.sku, v.title, v.price, v.currency, v.options
FROM variants v
WHERE v.tenant_id = sqlc.arg(tenant_id) AND v.product_id IN (
    SELECT q.id FROM products q
    WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
      AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
      AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
      AND q.min_price <= sqlc.arg(after_key)
      AND (q.min_price < sqlc.arg(after_key) OR q.id < sqlc.arg(after_id))
    ORDER BY q.min_price DESC, q.id DESC
    LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0
)
ORDER BY v.product_id, v.position;

-- name: ListTitle :many
-- One page of active products, by title: a keyset over (title, id) on the index products_title.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT q.id, q.slug, q.title, q.description, q.status, q.category_id, q.options,
    q.attributes, q.images, q.min_price, q.currency, q.created_at, q.updated_at
FROM products q
WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
  AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
  AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
  AND q.title >= sqlc.arg(after_key)
  AND (q.title > sqlc.arg(after_key) OR q.id > sqlc.arg(after_id))
ORDER BY q.title ASC, q.id ASC
LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0;

-- name: ListTitleVariants :many
-- The variants of the products ListTitle returns for the same arguments.
WITH RECURSIVE sub (id) AS (
    SELECT c.id FROM categories c
    WHERE c.tenant_id = sqlc.arg(tenant_id)
      AND (c.id = CAST(sqlc.arg(category) AS TEXT) OR c.slug = CAST(sqlc.arg(category) AS TEXT))
    UNION
    SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id
    WHERE c.tenant_id = sqlc.arg(tenant_id)
)
SELECT v.product_id, v.id, v.sku, v.title, v.price, v.currency, v.options
FROM variants v
WHERE v.tenant_id = sqlc.arg(tenant_id) AND v.product_id IN (
    SELECT q.id FROM products q
    WHERE q.tenant_id = sqlc.arg(tenant_id) AND q.status = 'active'
      AND (CAST(sqlc.arg(category) AS TEXT) = '' OR q.category_id IN (SELECT sub.id FROM sub))
      AND q.min_price BETWEEN sqlc.arg(min_price) AND sqlc.arg(max_price)
      AND q.title >= sqlc.arg(after_key)
      AND (q.title > sqlc.arg(after_key) OR q.id > sqlc.arg(after_id))
    ORDER BY q.title ASC, q.id ASC
    LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0
)
ORDER BY v.product_id, v.position;

-- name: ListAdmin :many
-- Every status, or one, newest first: the admin list.
SELECT q.id, q.slug, q.title, q.description, q.status, q.category_id, q.options,
    q.attributes, q.images, q.min_price, q.currency, q.created_at, q.updated_at
FROM products q
WHERE q.tenant_id = sqlc.arg(tenant_id)
  AND (CAST(sqlc.arg(status) AS TEXT) = '' OR q.status = sqlc.arg(status))
  AND q.created_at <= sqlc.arg(after_key)
  AND (q.created_at < sqlc.arg(after_key) OR q.id < sqlc.arg(after_id))
ORDER BY q.created_at DESC, q.id DESC
LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0;

-- name: ListAdminVariants :many
-- The variants of the products ListAdmin returns for the same arguments,
-- with their cost prices (staff answers carry them; public lists never
-- read the column).
SELECT v.product_id, v.id, v.sku, v.title, v.price, v.currency, v.options, v.cost_price
FROM variants v
WHERE v.tenant_id = sqlc.arg(tenant_id) AND v.product_id IN (
    SELECT q.id FROM products q
    WHERE q.tenant_id = sqlc.arg(tenant_id)
      AND (CAST(sqlc.arg(status) AS TEXT) = '' OR q.status = sqlc.arg(status))
      AND q.created_at <= sqlc.arg(after_key)
      AND (q.created_at < sqlc.arg(after_key) OR q.id < sqlc.arg(after_id))
    ORDER BY q.created_at DESC, q.id DESC
    LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0
)
ORDER BY v.product_id, v.position;
