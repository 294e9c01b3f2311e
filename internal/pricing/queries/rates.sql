-- name: ListTaxRates :many
SELECT * FROM tax_rates WHERE tenant_id = sqlc.arg(tenant_id) ORDER BY country, region;

-- name: CountryTaxRates :many
SELECT * FROM tax_rates
WHERE tenant_id = sqlc.arg(tenant_id) AND country = sqlc.arg(country)
ORDER BY region;

-- name: GetTaxRate :one
SELECT * FROM tax_rates WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: InsertTaxRate :exec
INSERT INTO tax_rates (tenant_id, id, country, region, rate_bp, name, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(country), sqlc.arg(region), sqlc.arg(rate_bp),
    sqlc.arg(name), sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: UpdateTaxRate :execrows
UPDATE tax_rates SET country = sqlc.arg(country), region = sqlc.arg(region), rate_bp = sqlc.arg(rate_bp),
    name = sqlc.arg(name), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: DeleteTaxRate :execrows
DELETE FROM tax_rates WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: ListShippingMethods :many
SELECT * FROM shipping_methods WHERE tenant_id = sqlc.arg(tenant_id) ORDER BY price, code;

-- name: GetShippingMethod :one
SELECT * FROM shipping_methods WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: GetShippingMethodByCode :one
SELECT * FROM shipping_methods WHERE tenant_id = sqlc.arg(tenant_id) AND code = sqlc.arg(code);

-- name: InsertShippingMethod :exec
INSERT INTO shipping_methods (tenant_id, id, code, name, price, currency, free_over, countries, active,
    created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(code), sqlc.arg(name), sqlc.arg(price), sqlc.arg(currency),
    sqlc.narg(free_over), sqlc.arg(countries), sqlc.arg(active), sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: UpdateShippingMethod :execrows
UPDATE shipping_methods SET code = sqlc.arg(code), name = sqlc.arg(name), price = sqlc.arg(price),
    currency = sqlc.arg(currency), free_over = sqlc.narg(free_over), countries = sqlc.arg(countries),
    active = sqlc.arg(active), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: DeleteShippingMethod :execrows
DELETE FROM shipping_methods WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);
