-- name: InsertTenant :execrows
-- Inserts a store unless its ID exists (Ensure of a configured store runs
-- on every start).
INSERT INTO tenants (id, name, status, subdomain, plan, logo, currency, tax_inclusive, locale,
    brand_color, accent_color, signup_key, signup_hash, created_at, updated_at)
VALUES (sqlc.arg(id), sqlc.arg(name), sqlc.arg(status), sqlc.narg(subdomain), sqlc.arg(plan),
    sqlc.arg(logo), sqlc.arg(currency), sqlc.arg(tax_inclusive), sqlc.arg(locale),
    sqlc.arg(brand_color), sqlc.arg(accent_color),
    sqlc.narg(signup_key), sqlc.arg(signup_hash), sqlc.arg(created_at), sqlc.arg(created_at))
ON CONFLICT (id) DO NOTHING;

-- name: GetTenant :one
SELECT * FROM tenants WHERE id = sqlc.arg(id);

-- name: GetTenantBySignupKey :one
SELECT * FROM tenants WHERE signup_key = sqlc.arg(signup_key);

-- name: SubdomainTaken :one
-- Whether a subdomain is held by a store, or its host by any store
-- (configuration may have mapped one).
SELECT CAST((SELECT COUNT(*) FROM tenants WHERE subdomain = CAST(sqlc.arg(subdomain) AS TEXT))
    + (SELECT COUNT(*) FROM domains WHERE host = sqlc.arg(host)) AS BIGINT) AS taken;

-- name: ActivateTenant :execrows
UPDATE tenants SET status = 'active', updated_at = sqlc.arg(updated_at)
WHERE id = sqlc.arg(id) AND status = 'provisioning';

-- name: FailTenant :execrows
-- Rolls back a signup: the store never goes live, and gives its subdomain
-- and Idempotency-Key back. The row stays so the ID is never reused.
UPDATE tenants SET status = 'failed', subdomain = NULL, signup_key = NULL, updated_at = sqlc.arg(updated_at)
WHERE id = sqlc.arg(id) AND status = 'provisioning';

-- name: UpdateSettings :execrows
UPDATE tenants SET
    name = sqlc.arg(name), logo = sqlc.arg(logo), currency = sqlc.arg(currency),
    tax_inclusive = sqlc.arg(tax_inclusive), locale = sqlc.arg(locale),
    cors_origins = sqlc.arg(cors_origins), brand_color = sqlc.arg(brand_color),
    accent_color = sqlc.arg(accent_color), legal_name = sqlc.arg(legal_name),
    tax_id = sqlc.arg(tax_id), address = sqlc.arg(address), time_zone = sqlc.arg(time_zone),
    invoice_on = sqlc.arg(invoice_on), updated_at = sqlc.arg(updated_at)
WHERE id = sqlc.arg(id) AND status = 'active' AND updated_at = sqlc.arg(old_updated_at);

-- name: UpdatePlan :execrows
-- updated_at only moves forward: it versions the settings events too.
UPDATE tenants SET plan = sqlc.arg(plan),
    updated_at = CASE WHEN updated_at >= sqlc.arg(updated_at) THEN updated_at + 1 ELSE sqlc.arg(updated_at) END
WHERE id = sqlc.arg(id) AND status IN ('active', 'suspended');

-- name: ResolveID :one
-- A store is named by its ID or, when no store has that ID, by its
-- subdomain. A store being provisioned resolves by its ID (not by host or
-- subdomain): the signup creates the owner account in it through the
-- identity service's API.
SELECT id, cors_origins FROM tenants
WHERE (id = sqlc.arg(id) AND status IN ('active', 'provisioning'))
   OR (subdomain = sqlc.arg(id) AND status = 'active')
ORDER BY CASE WHEN id = sqlc.arg(id) THEN 0 ELSE 1 END
LIMIT 1;

-- name: FailStaleSignup :many
-- Rolls back a signup of this subdomain abandoned while provisioning (its
-- process died between the store row and the owner account), so the
-- subdomain is free again. Returns the store's ID (none if no such signup).
UPDATE tenants SET status = 'failed', subdomain = NULL, signup_key = NULL, updated_at = sqlc.arg(updated_at)
WHERE subdomain = sqlc.arg(subdomain) AND status = 'provisioning' AND updated_at < sqlc.arg(before)
RETURNING id;
