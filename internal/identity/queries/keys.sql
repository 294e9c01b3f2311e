-- name: ListSigningKeys :many
-- Every key still published, newest first: the active one, then retired
-- ones whose tokens may still be valid.
SELECT * FROM signing_keys
ORDER BY CASE WHEN active IS NULL THEN 1 ELSE 0 END, created_at DESC, kid DESC;

-- name: RetireActiveKey :execrows
UPDATE signing_keys SET active = NULL, retired_at = sqlc.arg(retired_at)
WHERE active = 1;

-- name: InsertSigningKey :exec
INSERT INTO signing_keys (kid, private_key, public_key, active, created_at)
VALUES (sqlc.arg(kid), sqlc.arg(private_key), sqlc.arg(public_key), 1, sqlc.arg(created_at));

-- name: PruneSigningKeys :execrows
-- Deletes retired keys no unexpired token can have been signed with.
DELETE FROM signing_keys
WHERE active IS NULL AND retired_at IS NOT NULL AND retired_at < sqlc.arg(before);
