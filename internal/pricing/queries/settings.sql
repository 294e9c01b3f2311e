-- name: GetSettings :one
SELECT * FROM settings WHERE tenant_id = sqlc.arg(tenant_id);

-- name: PutSettings :exec
INSERT INTO settings (tenant_id, tax_inclusive, currency, default_shipping_method, default_country, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(tax_inclusive), sqlc.arg(currency), sqlc.arg(default_shipping_method),
    sqlc.arg(default_country), sqlc.arg(updated_at))
ON CONFLICT (tenant_id) DO UPDATE SET
    tax_inclusive = excluded.tax_inclusive, currency = excluded.currency,
    default_shipping_method = excluded.default_shipping_method,
    default_country = excluded.default_country, updated_at = excluded.updated_at;
