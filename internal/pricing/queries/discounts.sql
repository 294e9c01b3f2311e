-- name: ListDiscounts :many
SELECT * FROM discounts WHERE tenant_id = sqlc.arg(tenant_id) ORDER BY priority, id;

-- name: GetDiscount :one
SELECT * FROM discounts WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: GetDiscountByCode :one
SELECT * FROM discounts WHERE tenant_id = sqlc.arg(tenant_id) AND code = sqlc.arg(code);

-- name: AutomaticDiscounts :many
-- The automatic discounts a quote considers; the window and the rest are
-- checked by the pure quote code.
SELECT * FROM discounts
WHERE tenant_id = sqlc.arg(tenant_id) AND code IS NULL AND active
ORDER BY priority, id;

-- name: InsertDiscount :exec
INSERT INTO discounts (tenant_id, id, name, code, kind, percent_bp, amount, currency, scope, product_ids,
    category_ids, starts_at, ends_at, usage_limit, usage_limit_per_customer, used, min_subtotal, stackable,
    priority, active, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(name), sqlc.narg(code), sqlc.arg(kind), sqlc.arg(percent_bp),
    sqlc.arg(amount), sqlc.arg(currency), sqlc.arg(scope), sqlc.arg(product_ids), sqlc.arg(category_ids),
    sqlc.narg(starts_at), sqlc.narg(ends_at), sqlc.narg(usage_limit), sqlc.narg(usage_limit_per_customer), 0,
    sqlc.narg(min_subtotal), sqlc.arg(stackable), sqlc.arg(priority), sqlc.arg(active), sqlc.arg(created_at),
    sqlc.arg(updated_at));

-- name: UpdateDiscount :execrows
-- used is left alone: only Redeem and Release move it.
UPDATE discounts SET
    name = sqlc.arg(name), percent_bp = sqlc.arg(percent_bp), amount = sqlc.arg(amount),
    currency = sqlc.arg(currency), product_ids = sqlc.arg(product_ids), category_ids = sqlc.arg(category_ids),
    starts_at = sqlc.narg(starts_at), ends_at = sqlc.narg(ends_at), usage_limit = sqlc.narg(usage_limit),
    usage_limit_per_customer = sqlc.narg(usage_limit_per_customer), min_subtotal = sqlc.narg(min_subtotal),
    stackable = sqlc.arg(stackable), priority = sqlc.arg(priority), active = sqlc.arg(active),
    updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: DeleteDiscount :execrows
DELETE FROM discounts WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: DeleteCustomerUses :exec
DELETE FROM customer_uses WHERE tenant_id = sqlc.arg(tenant_id) AND discount_id = sqlc.arg(discount_id);

-- name: TakeUse :execrows
-- One use of the discount, only while uses are left: concurrent redeemers
-- serialise on the row, and each re-checks the limit after the other.
UPDATE discounts SET used = used + 1
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id)
  AND (usage_limit IS NULL OR used < usage_limit);

-- name: GiveUse :exec
UPDATE discounts SET used = used - 1
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND used > 0;

-- name: CustomerUses :one
SELECT used FROM customer_uses
WHERE tenant_id = sqlc.arg(tenant_id) AND discount_id = sqlc.arg(discount_id) AND email = sqlc.arg(email);

-- name: EnsureCustomerUses :exec
INSERT INTO customer_uses (tenant_id, discount_id, email, used)
VALUES (sqlc.arg(tenant_id), sqlc.arg(discount_id), sqlc.arg(email), 0)
ON CONFLICT (tenant_id, discount_id, email) DO NOTHING;

-- name: TakeCustomerUse :execrows
-- A limit of NULL means none; the count is kept anyway, should one be set.
UPDATE customer_uses SET used = used + 1
WHERE tenant_id = sqlc.arg(tenant_id) AND discount_id = sqlc.arg(discount_id) AND email = sqlc.arg(email)
  AND (CAST(sqlc.narg(per_customer_limit) AS BIGINT) IS NULL OR used < CAST(sqlc.narg(per_customer_limit) AS BIGINT));

-- name: GiveCustomerUse :exec
UPDATE customer_uses SET used = used - 1
WHERE tenant_id = sqlc.arg(tenant_id) AND discount_id = sqlc.arg(discount_id) AND email = sqlc.arg(email)
  AND used > 0;

-- name: GetRedemption :one
SELECT * FROM redemptions WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id);

-- name: InsertRedemption :exec
INSERT INTO redemptions (tenant_id, order_id, discount_id, coupon, email, status, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), sqlc.arg(discount_id), sqlc.arg(coupon), sqlc.arg(email),
    'active', sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: SetRedemptionStatus :execrows
UPDATE redemptions SET status = sqlc.arg(status), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id) AND status = sqlc.arg(old_status);
