-- name: ClaimFakeRequest :execrows
-- Claims an idempotency key for a call before it acts. Zero rows: the key
-- was sent before (on PostgreSQL, a concurrent claim is waited for), and
-- the call is answered with that one's outcome.
INSERT INTO fake_requests (tenant_id, idem_key, op, auth_ref, currency, amount, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(idem_key), sqlc.arg(op), sqlc.arg(auth_ref),
    sqlc.arg(currency), sqlc.arg(amount), sqlc.arg(created_at))
ON CONFLICT (tenant_id, idem_key) DO NOTHING;

-- name: GetFakeRequest :one
SELECT * FROM fake_requests
WHERE tenant_id = sqlc.arg(tenant_id) AND idem_key = sqlc.arg(idem_key);

-- name: FinishFakeRequest :exec
-- Records the outcome of the call that claimed the key, in its transaction.
UPDATE fake_requests SET auth_ref = sqlc.arg(auth_ref), refund_ref = sqlc.arg(refund_ref),
    decline = sqlc.arg(decline)
WHERE tenant_id = sqlc.arg(tenant_id) AND idem_key = sqlc.arg(idem_key);

-- name: InsertFakeAuthorization :exec
INSERT INTO fake_authorizations (tenant_id, ref, currency, amount, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(ref), sqlc.arg(currency), sqlc.arg(amount),
    sqlc.arg(created_at), sqlc.arg(created_at));

-- name: GetFakeAuthorization :one
SELECT * FROM fake_authorizations
WHERE tenant_id = sqlc.arg(tenant_id) AND ref = sqlc.arg(ref);

-- name: CaptureFakeAuthorization :execrows
-- One conditional statement: zero rows means the capture is not possible
-- (unknown, voided, another currency, or above what is left).
UPDATE fake_authorizations SET captured = captured + sqlc.arg(amount), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND ref = sqlc.arg(ref) AND voided = 0
  AND currency = sqlc.arg(currency) AND captured + sqlc.arg(amount) <= amount;

-- name: VoidFakeAuthorization :execrows
-- Zero rows: unknown, or something was captured.
UPDATE fake_authorizations SET voided = 1, updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND ref = sqlc.arg(ref) AND captured = 0;

-- name: RefundFakeAuthorization :execrows
-- Zero rows: unknown, another currency, or above what is captured and not
-- yet refunded.
UPDATE fake_authorizations SET refunded = refunded + sqlc.arg(amount), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND ref = sqlc.arg(ref)
  AND currency = sqlc.arg(currency) AND refunded + sqlc.arg(amount) <= captured;

-- name: CountOpenFakeAuthorizations :one
-- Holds still on cards: neither voided nor captured.
SELECT COUNT(*) FROM fake_authorizations
WHERE tenant_id = sqlc.arg(tenant_id) AND voided = 0 AND captured = 0;
