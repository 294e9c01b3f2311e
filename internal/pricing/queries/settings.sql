-- name: GetSettings :one
SELECT * FROM settings WHERE tenant_id = sqlc.arg(tenant_id);

-- name: PutSettings :exec
INSERT INTO settings (tenant_id, default_shipping_method, default_country, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(default_shipping_method), sqlc.arg(default_country), sqlc.arg(updated_at))
ON CONFLICT (tenant_id) DO UPDATE SET
    default_shipping_method = excluded.default_shipping_method,
    default_country = excluded.default_country, updated_at = excluded.updated_at;

-- name: DefaultShippingMethodIfNone :exec
-- Makes code the default shipping method of a store that has none (a new
-- store's), with default_country for a store without a settings row.
INSERT INTO settings (tenant_id, default_shipping_method, default_country, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(code), sqlc.arg(default_country), sqlc.arg(updated_at))
ON CONFLICT (tenant_id) DO UPDATE SET
    default_shipping_method = excluded.default_shipping_method, updated_at = excluded.updated_at
WHERE settings.default_shipping_method = '';

-- name: GetStoreSettings :one
SELECT * FROM store_settings WHERE tenant_id = sqlc.arg(tenant_id);

-- name: PutStoreSettings :execrows
-- Applies the store's settings of a tenant event unless a newer version
-- was applied already.
INSERT INTO store_settings (tenant_id, currency, tax_inclusive, version, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(currency), sqlc.arg(tax_inclusive), sqlc.arg(version), sqlc.arg(updated_at))
ON CONFLICT (tenant_id) DO UPDATE SET
    currency = excluded.currency, tax_inclusive = excluded.tax_inclusive,
    version = excluded.version, updated_at = excluded.updated_at
WHERE store_settings.version < excluded.version;

-- name: CountShippingMethods :one
SELECT COUNT(*) FROM shipping_methods WHERE tenant_id = sqlc.arg(tenant_id);

-- name: FollowCurrency :execrows
-- Moves the store's free shipping methods (price 0, no threshold), which
-- mean the same in any currency, to its new currency.
UPDATE shipping_methods SET currency = sqlc.arg(currency), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND price = 0 AND free_over IS NULL AND currency <> sqlc.arg(currency);
