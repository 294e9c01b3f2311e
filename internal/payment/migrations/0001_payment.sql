-- +goose Up
-- One payment per order per tenant. Amounts are minor units of currency.
-- captured and refunded count what the provider confirmed, except that
-- refunded also holds refunds in flight (so two concurrent refunds cannot
-- together pass captured); capture_pending holds captures in flight, so
-- concurrent captures cannot together pass amount. Timestamps are unix
-- microseconds.
CREATE TABLE payments (
    tenant_id       TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    order_id        TEXT   NOT NULL,
    provider        TEXT   NOT NULL,
    provider_ref    TEXT   NOT NULL DEFAULT '',
    status          TEXT   NOT NULL CHECK (status IN ('pending', 'authorized', 'failed', 'voided',
        'captured', 'partially_captured', 'refunded', 'partially_refunded')),
    currency        TEXT   NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    captured        BIGINT NOT NULL DEFAULT 0,
    capture_pending BIGINT NOT NULL DEFAULT 0 CHECK (capture_pending >= 0),
    refunded        BIGINT NOT NULL DEFAULT 0,
    failure_code    TEXT   NOT NULL DEFAULT '',
    -- The authorize request, kept only while its outcome at the provider is
    -- unknown (auth_open = 1): replaying it with the same idempotency key
    -- tells what happened, so a stale authorization can be voided.
    auth_token      TEXT   NOT NULL DEFAULT '',
    auth_email      TEXT   NOT NULL DEFAULT '',
    auth_open       BIGINT NOT NULL DEFAULT 0 CHECK (auth_open IN (0, 1)),
    -- Optimistic concurrency: every update checks and bumps it.
    version         BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, order_id),
    CHECK (0 <= refunded AND refunded <= captured AND captured <= amount),
    CHECK (captured + capture_pending <= amount)
);
CREATE INDEX payments_newest ON payments (tenant_id, created_at, id);
CREATE INDEX payments_status ON payments (tenant_id, status, created_at, id);
CREATE INDEX payments_ref ON payments (tenant_id, provider, provider_ref);
CREATE INDEX payments_open ON payments (auth_open, created_at);

-- The ledger: every operation sent to the provider, with the idempotency
-- key it was sent with (unique per payment: the key names the operation, so
-- a repeat finds the first). status pending means sent (or about to be)
-- with the outcome not recorded yet; a repeat of the call resends it with
-- the same key.
CREATE TABLE payment_operations (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    payment_id   TEXT   NOT NULL,
    kind         TEXT   NOT NULL CHECK (kind IN ('authorize', 'capture', 'void', 'refund')),
    amount       BIGINT NOT NULL CHECK (amount >= 0),
    idem_key     TEXT   NOT NULL,
    caller_key   TEXT   NOT NULL DEFAULT '',
    reason       TEXT   NOT NULL DEFAULT '',
    provider_ref TEXT   NOT NULL DEFAULT '',
    status       TEXT   NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, payment_id, idem_key),
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id)
);
CREATE INDEX payment_operations_kind ON payment_operations (tenant_id, payment_id, kind, created_at);

-- Provider webhook events already handled, by the provider's event ID.
CREATE TABLE payment_webhook_events (
    tenant_id   TEXT   NOT NULL,
    provider    TEXT   NOT NULL,
    event_id    TEXT   NOT NULL,
    event_type  TEXT   NOT NULL,
    payment_id  TEXT   NOT NULL DEFAULT '',
    received_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, provider, event_id)
);

-- +goose Down
DROP TABLE payment_webhook_events;
DROP TABLE payment_operations;
DROP TABLE payments;
