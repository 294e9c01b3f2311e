-- name: InsertOrder :exec
INSERT INTO orders (tenant_id, id, idempotency_key, request_hash, token_hash, status, email, currency,
    subtotal, discount, shipping, tax, total, captured, refunded, total_due, tax_inclusive,
    shipping_method, coupon, cart_id, lines, address, timeline, version, created_at, updated_at,
    customer_id, email_lower, billing_address)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(idempotency_key), sqlc.arg(request_hash),
    sqlc.arg(token_hash), sqlc.arg(status), sqlc.arg(email), sqlc.arg(currency), sqlc.arg(subtotal),
    sqlc.arg(discount), sqlc.arg(shipping), sqlc.arg(tax), sqlc.arg(total), 0, 0, sqlc.arg(total),
    sqlc.arg(tax_inclusive), sqlc.arg(shipping_method), sqlc.arg(coupon), sqlc.arg(cart_id),
    sqlc.arg(lines), sqlc.arg(address), sqlc.arg(timeline), 1, sqlc.arg(created_at), sqlc.arg(created_at),
    sqlc.narg(customer_id), sqlc.arg(email_lower), sqlc.arg(billing_address));

-- name: GetOrder :one
SELECT * FROM orders WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: GetOrderByKey :one
SELECT * FROM orders WHERE tenant_id = sqlc.arg(tenant_id) AND idempotency_key = sqlc.arg(idempotency_key);

-- name: UpdateOrder :execrows
-- The one write of an order row: it succeeds only on the version read (and
-- in the status read), so concurrent writers cannot both act.
UPDATE orders SET status = sqlc.arg(status), cancel_reason = sqlc.arg(cancel_reason),
    cancel_detail = sqlc.arg(cancel_detail), captured = sqlc.arg(captured), refunded = sqlc.arg(refunded),
    total_due = total - sqlc.arg(captured) + sqlc.arg(refunded), timeline = sqlc.arg(timeline),
    version = version + 1, updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND version = sqlc.arg(version)
  AND status = sqlc.arg(old_status);

-- name: ClaimOrder :execrows
-- Recovery takes over an unfinished order untouched for a lease: bumping
-- version and updated_at makes any other driver's next write fail.
UPDATE orders SET version = version + 1, updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND version = sqlc.arg(version)
  AND updated_at < sqlc.arg(stale_before);

-- name: StaleOrders :many
-- Unfinished orders of every tenant untouched since stale_before, oldest first.
SELECT tenant_id, id, version FROM orders
WHERE status IN ('pending', 'stock_reserved', 'payment_authorized', 'shipping', 'cancelling')
  AND updated_at < sqlc.arg(stale_before)
ORDER BY updated_at
LIMIT sqlc.arg(max_rows);

-- name: ListOrders :many
-- Newest first; empty filters match everything. The keyset is (created_at, id).
SELECT * FROM orders
WHERE tenant_id = sqlc.arg(tenant_id)
  AND (CAST(sqlc.arg(status) AS TEXT) = '' OR status = sqlc.arg(status))
  AND (CAST(sqlc.arg(email) AS TEXT) = '' OR email = sqlc.arg(email))
  AND created_at >= sqlc.arg(created_from) AND created_at < sqlc.arg(created_to)
  AND (created_at < sqlc.arg(after_created) OR (created_at = sqlc.arg(after_created) AND id < sqlc.arg(after_id)))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_limit);

-- name: ListCustomerOrders :many
-- A customer's orders, newest first; the keyset is (created_at, id).
SELECT * FROM orders
WHERE tenant_id = sqlc.arg(tenant_id) AND customer_id = sqlc.arg(customer_id)
  AND (created_at < sqlc.arg(after_created) OR (created_at = sqlc.arg(after_created) AND id < sqlc.arg(after_id)))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_limit);

-- name: ClaimGuestOrders :execrows
-- Gives a newly registered customer the store's guest orders placed with
-- their email. Orders that have a customer keep it. The row's version and
-- updated_at stay: no order step reads or writes customer_id, so a saga
-- in flight is neither disturbed nor overwritten.
UPDATE orders SET customer_id = sqlc.arg(customer_id)
WHERE tenant_id = sqlc.arg(tenant_id) AND email_lower = sqlc.arg(email_lower) AND customer_id IS NULL;
