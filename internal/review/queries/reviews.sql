-- name: InsertReview :exec
INSERT INTO reviews (tenant_id, id, product_id, order_id, sku, customer_id, author_name, rating, title, body,
    status, published_at, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(product_id), sqlc.arg(order_id), sqlc.arg(sku),
    sqlc.arg(customer_id), sqlc.arg(author_name), sqlc.arg(rating), sqlc.arg(title), sqlc.arg(body),
    sqlc.arg(status), sqlc.narg(published_at), sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: GetReview :one
SELECT * FROM reviews
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: LockReview :one
-- The first statement of every change to a review: on PostgreSQL it locks
-- the row until commit, so two changes of one review run one after the
-- other and each decides on what the other left. SQLite serialises all
-- writers anyway.
UPDATE reviews SET updated_at = updated_at
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id)
RETURNING *;

-- name: UpdateReview :exec
UPDATE reviews SET
    author_name = sqlc.arg(author_name), rating = sqlc.arg(rating), title = sqlc.arg(title), body = sqlc.arg(body),
    status = sqlc.arg(status), reason = sqlc.arg(reason), moderated_by = sqlc.arg(moderated_by),
    moderated_at = sqlc.narg(moderated_at), reply = sqlc.arg(reply), replied_at = sqlc.narg(replied_at),
    published_at = sqlc.narg(published_at), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: DeleteReview :exec
DELETE FROM reviews WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: ListProductReviews :many
-- A product's reviews of one status, newest first; keyset on (created_at, id)
-- (the first page passes the largest created_at).
SELECT * FROM reviews
WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id) AND status = sqlc.arg(status)
  AND (created_at < sqlc.arg(after_at)
       OR (created_at = sqlc.arg(after_at) AND id < CAST(sqlc.arg(after_id) AS TEXT)))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(max_rows);

-- name: ListReviews :many
-- The store's reviews of one status, newest first; keyset on (created_at, id)
-- (the first page passes the largest created_at).
SELECT * FROM reviews
WHERE tenant_id = sqlc.arg(tenant_id) AND status = sqlc.arg(status)
  AND (created_at < sqlc.arg(after_at)
       OR (created_at = sqlc.arg(after_at) AND id < CAST(sqlc.arg(after_id) AS TEXT)))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(max_rows);

-- name: ListOrderReviews :many
SELECT * FROM reviews
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id)
ORDER BY created_at, id;
