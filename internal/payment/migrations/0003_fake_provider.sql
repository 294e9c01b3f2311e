-- +goose Up
-- The built-in fake provider's own state, kept in the payment database so
-- that it behaves like a real provider across restarts: the authorizations
-- it holds and the outcome of every idempotency key it was sent. Only the
-- fake (fake.go) reads and writes these tables; nothing else refers to
-- them. Amounts are minor units of currency; timestamps unix microseconds.
CREATE TABLE fake_authorizations (
    tenant_id  TEXT   NOT NULL,
    ref        TEXT   NOT NULL,
    currency   TEXT   NOT NULL,
    amount     BIGINT NOT NULL CHECK (amount > 0),
    captured   BIGINT NOT NULL DEFAULT 0,
    refunded   BIGINT NOT NULL DEFAULT 0,
    voided     BIGINT NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, ref),
    CHECK (0 <= refunded AND refunded <= captured AND captured <= amount),
    CHECK (voided = 0 OR captured = 0)
);

-- One row per idempotency key: the call's parameters (a repeat with other
-- parameters is refused) and its outcome (a repeat is answered with it).
-- auth_ref is the authorization the call made (authorize) or was about;
-- refund_ref the refund it made; decline the reason it was declined, empty
-- when it succeeded.
CREATE TABLE fake_requests (
    tenant_id  TEXT   NOT NULL,
    idem_key   TEXT   NOT NULL,
    op         TEXT   NOT NULL CHECK (op IN ('authorize', 'capture', 'void', 'refund')),
    auth_ref   TEXT   NOT NULL DEFAULT '',
    currency   TEXT   NOT NULL DEFAULT '',
    amount     BIGINT NOT NULL DEFAULT 0,
    refund_ref TEXT   NOT NULL DEFAULT '',
    decline    TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, idem_key)
);

-- +goose Down
DROP TABLE fake_requests;
DROP TABLE fake_authorizations;
