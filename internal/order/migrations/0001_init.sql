-- +goose Up
-- Orders, their shipments and returns. Every table is keyed by tenant first.
-- Timestamps are unix microseconds (BIGINT); money is BIGINT minor units in
-- the order's currency; lines, the address and the timeline are JSON TEXT
-- written with the row (one statement per write: no child rows to insert).

CREATE TABLE orders (
    tenant_id       TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    -- The client's Idempotency-Key and a hash of its request: a retry with
    -- the same key finds this order instead of creating a second one.
    idempotency_key TEXT   NOT NULL,
    request_hash    TEXT   NOT NULL,
    -- SHA-256 (hex) of the guest's secret order token; the token itself is
    -- only ever in the checkout answer.
    token_hash      TEXT   NOT NULL,
    status          TEXT   NOT NULL CHECK (status IN ('pending', 'stock_reserved', 'payment_authorized',
                        'confirmed', 'shipping', 'shipped', 'delivered', 'cancelling', 'cancelled')),
    cancel_reason   TEXT   NOT NULL DEFAULT '',
    -- What the failure named (the SKU out of stock, the decline reason), so
    -- a retried checkout answers exactly as the first did.
    cancel_detail   TEXT   NOT NULL DEFAULT '',
    email           TEXT   NOT NULL,
    currency        TEXT   NOT NULL,
    subtotal        BIGINT NOT NULL,
    discount        BIGINT NOT NULL,
    shipping        BIGINT NOT NULL,
    tax             BIGINT NOT NULL,
    total           BIGINT NOT NULL CHECK (total >= 0),
    captured        BIGINT NOT NULL DEFAULT 0,
    refunded        BIGINT NOT NULL DEFAULT 0,
    total_due       BIGINT NOT NULL,
    tax_inclusive   BIGINT NOT NULL DEFAULT 0,
    shipping_method TEXT   NOT NULL DEFAULT '',
    coupon          TEXT   NOT NULL DEFAULT '',
    cart_id         TEXT   NOT NULL DEFAULT '',
    -- JSON: [orderapi.Line], orderapi.Address, [orderapi.TimelineEntry]
    lines           TEXT   NOT NULL,
    address         TEXT   NOT NULL,
    timeline        TEXT   NOT NULL,
    -- Bumped by every write: each write is one UPDATE ... WHERE version = the
    -- version read, so two writers (two saga drivers, a recovery pass and a
    -- slow request) never both act.
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, idempotency_key),
    CHECK (total_due = total - captured + refunded),
    CHECK (0 <= refunded AND refunded <= captured AND captured <= total)
);
CREATE INDEX orders_created ON orders (tenant_id, created_at, id);
CREATE INDEX orders_email ON orders (tenant_id, email, created_at);
-- Crash recovery scans unfinished orders by age, across tenants.
CREATE INDEX orders_unfinished ON orders (status, updated_at);

CREATE TABLE shipments (
    tenant_id       TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    order_id        TEXT   NOT NULL,
    carrier         TEXT   NOT NULL,
    tracking_number TEXT   NOT NULL,
    tracking_url    TEXT   NOT NULL DEFAULT '',
    status          TEXT   NOT NULL CHECK (status IN ('shipped', 'in_transit', 'delivered')),
    -- JSON: [orderapi.TrackingEvent]
    events          TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);
CREATE INDEX shipments_order ON shipments (tenant_id, order_id, created_at);

CREATE TABLE returns (
    tenant_id     TEXT   NOT NULL,
    id            TEXT   NOT NULL,
    order_id      TEXT   NOT NULL,
    status        TEXT   NOT NULL CHECK (status IN ('requested', 'receiving', 'received', 'rejected')),
    -- JSON: [orderapi.ReturnLine]; restock flags are set when received.
    lines         TEXT   NOT NULL,
    refund_amount BIGINT NOT NULL DEFAULT 0 CHECK (refund_amount >= 0),
    reason        TEXT   NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);
CREATE INDEX returns_order ON returns (tenant_id, order_id, created_at);

-- +goose Down
DROP TABLE returns;
DROP TABLE shipments;
DROP TABLE orders;
