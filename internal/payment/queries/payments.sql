-- name: InsertPayment :execrows
-- Zero rows: the order already has a payment (a concurrent or earlier
-- Authorize), and the caller loads that one instead; or, when it has none,
-- its payment was voided before this (voided_orders).
INSERT INTO payments (tenant_id, id, order_id, provider, status, currency, amount,
    auth_token, auth_email, auth_open, created_at, updated_at)
SELECT sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(order_id), sqlc.arg(provider), 'pending',
    sqlc.arg(currency), sqlc.arg(amount), sqlc.arg(auth_token), sqlc.arg(auth_email), 1,
    sqlc.arg(created_at), sqlc.arg(created_at)
WHERE NOT EXISTS (SELECT 1 FROM voided_orders v
                  WHERE v.tenant_id = sqlc.arg(tenant_id) AND v.order_id = sqlc.arg(order_id))
ON CONFLICT (tenant_id, order_id) DO NOTHING;

-- name: InsertVoidedOrder :exec
-- Marks an order whose payment was voided before it had one.
INSERT INTO voided_orders (tenant_id, order_id, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(order_id), sqlc.arg(created_at))
ON CONFLICT (tenant_id, order_id) DO NOTHING;

-- name: PurgeVoidedOrders :execrows
-- Drops the marks of every tenant older than before.
DELETE FROM voided_orders WHERE created_at < sqlc.arg(before);

-- name: GetPaymentByOrder :one
SELECT * FROM payments
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id);

-- name: GetPaymentByRef :one
SELECT * FROM payments
WHERE tenant_id = sqlc.arg(tenant_id) AND provider = sqlc.arg(provider)
  AND provider_ref = sqlc.arg(provider_ref) AND provider_ref <> '';

-- name: UpdatePayment :execrows
-- Writes every mutable column if the row is still at the version read;
-- zero rows means a concurrent change and the operation is retried.
UPDATE payments SET
    provider_ref = sqlc.arg(provider_ref), status = sqlc.arg(status),
    captured = sqlc.arg(captured), capture_pending = sqlc.arg(capture_pending),
    refunded = sqlc.arg(refunded), failure_code = sqlc.arg(failure_code),
    auth_token = sqlc.arg(auth_token), auth_email = sqlc.arg(auth_email),
    auth_open = sqlc.arg(auth_open), version = version + 1, updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND version = sqlc.arg(version);

-- name: ListPayments :many
-- One page, newest first: a keyset over (created_at, id); status '' is any.
SELECT * FROM payments
WHERE tenant_id = sqlc.arg(tenant_id)
  AND (CAST(sqlc.arg(status) AS TEXT) = '' OR status = CAST(sqlc.arg(status) AS TEXT))
  AND created_at <= sqlc.arg(after_key)
  AND (created_at < sqlc.arg(after_key) OR id < sqlc.arg(after_id))
ORDER BY created_at DESC, id DESC
LIMIT CAST(sqlc.arg(page_limit) AS BIGINT) + 0;

-- name: ListOpenAuthorizations :many
-- Payments of every tenant whose authorize outcome has been unknown since
-- before cutoff: the start-up and periodic sweep resolves them. This is the
-- one query not scoped by tenant, on purpose: the sweep serves them all.
SELECT tenant_id, order_id FROM payments
WHERE auth_open = 1 AND created_at < sqlc.arg(cutoff)
ORDER BY created_at
LIMIT 100;

-- name: AuditPayments :one
SELECT
    CAST(COALESCE(SUM(CASE WHEN status = 'authorized' AND captured = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS authorized_open,
    CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending,
    CAST(COALESCE(SUM(CASE WHEN refunded < 0 OR refunded > captured OR captured > amount THEN 1 ELSE 0 END), 0) AS BIGINT) AS violations
FROM payments
WHERE tenant_id = sqlc.arg(tenant_id);

-- name: InsertOperation :exec
INSERT INTO payment_operations (tenant_id, id, payment_id, kind, amount, idem_key, caller_key,
    reason, provider_ref, status, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(payment_id), sqlc.arg(kind), sqlc.arg(amount),
    sqlc.arg(idem_key), sqlc.arg(caller_key), sqlc.arg(reason), sqlc.arg(provider_ref),
    sqlc.arg(status), sqlc.arg(created_at), sqlc.arg(created_at));

-- name: GetOperation :one
SELECT * FROM payment_operations
WHERE tenant_id = sqlc.arg(tenant_id) AND payment_id = sqlc.arg(payment_id) AND idem_key = sqlc.arg(idem_key);

-- name: FinishOperation :execrows
-- Records the outcome of the payment's operation of the idempotency key if
-- it is still pending: the guard stands in for reading it first. Zero rows:
-- there is none, or a concurrent caller recorded its outcome first.
UPDATE payment_operations SET status = sqlc.arg(status), provider_ref = sqlc.arg(provider_ref),
    reason = sqlc.arg(reason), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND payment_id = sqlc.arg(payment_id)
  AND idem_key = sqlc.arg(idem_key) AND status = 'pending';

-- name: DeleteOperation :execrows
DELETE FROM payment_operations
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND status = 'pending';

-- name: ListRefunds :many
SELECT * FROM payment_operations
WHERE tenant_id = sqlc.arg(tenant_id) AND payment_id = sqlc.arg(payment_id)
  AND kind = 'refund' AND status = 'succeeded'
ORDER BY created_at, id;

-- name: CountOperations :one
SELECT COUNT(*) FROM payment_operations
WHERE tenant_id = sqlc.arg(tenant_id) AND payment_id = sqlc.arg(payment_id) AND kind = sqlc.arg(kind);

-- name: InsertWebhookEvent :execrows
-- Zero rows: the event was handled before.
INSERT INTO payment_webhook_events (tenant_id, provider, event_id, event_type, payment_id, received_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(provider), sqlc.arg(event_id), sqlc.arg(event_type),
    sqlc.arg(payment_id), sqlc.arg(received_at))
ON CONFLICT (tenant_id, provider, event_id) DO NOTHING;
