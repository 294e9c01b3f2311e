-- name: BumpRating :one
-- The first statement of a change to a product's published set, after the
-- review's own: it numbers the change and, on PostgreSQL, locks the
-- product's row until commit, so the counts read next include every
-- change committed before (two changes of one product never both write
-- counts read before the other's).
INSERT INTO ratings (tenant_id, product_id, version, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(product_id), 1, sqlc.arg(updated_at))
ON CONFLICT (tenant_id, product_id) DO UPDATE SET version = ratings.version + 1, updated_at = excluded.updated_at
RETURNING version;

-- name: CountPublished :many
SELECT rating, COUNT(*) AS n FROM reviews
WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id) AND status = 'published'
GROUP BY rating;

-- name: SetRating :exec
UPDATE ratings SET review_count = sqlc.arg(review_count), rating_sum = sqlc.arg(rating_sum),
    stars1 = sqlc.arg(stars1), stars2 = sqlc.arg(stars2), stars3 = sqlc.arg(stars3), stars4 = sqlc.arg(stars4),
    stars5 = sqlc.arg(stars5)
WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id);

-- name: GetRating :one
SELECT * FROM ratings
WHERE tenant_id = sqlc.arg(tenant_id) AND product_id = sqlc.arg(product_id);
