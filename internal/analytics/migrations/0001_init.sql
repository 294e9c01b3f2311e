-- +goose Up
-- Every table is keyed by tenant first. Timestamps are unix microseconds
-- (BIGINT), so the same schema runs unchanged on SQLite and PostgreSQL.

-- The log: every event the service consumed, as it came, kept for ever
-- (buses keep events for a while only). The read models below are a fold
-- over it; `mercato analytics rebuild` empties them and folds it again
-- (docs/decisions/0029-analytics-event-log.md).
CREATE TABLE event_log (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    type        TEXT   NOT NULL,
    -- The envelope's time: when the change happened.
    at          BIGINT NOT NULL,
    -- When this service logged it: the order of the replay.
    received_at BIGINT NOT NULL,
    -- The whole envelope, JSON.
    envelope    TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX event_log_replay ON event_log (received_at, id);

-- Each store's time zone and currency, from tenant events; version is the
-- settings' own, so an older event never overwrites a newer one.
CREATE TABLE stores (
    tenant_id TEXT   NOT NULL,
    time_zone TEXT   NOT NULL DEFAULT '',
    currency  TEXT   NOT NULL DEFAULT '',
    version   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- Orders, from every order event. An order counts once confirmed and never
-- cancelled; refunded only grows (the largest the events told).
CREATE TABLE orders (
    tenant_id  TEXT   NOT NULL,
    order_id   TEXT   NOT NULL,
    placed_at  BIGINT NOT NULL,
    currency   TEXT   NOT NULL,
    -- Who bought: the lowercased email address.
    customer   TEXT   NOT NULL,
    cart_id    TEXT   NOT NULL DEFAULT '',
    total      BIGINT NOT NULL,
    tax        BIGINT NOT NULL,
    refunded   BIGINT NOT NULL DEFAULT 0,
    units      BIGINT NOT NULL,
    confirmed  BIGINT NOT NULL DEFAULT 0,
    cancelled  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX orders_placed ON orders (tenant_id, currency, placed_at);
CREATE INDEX orders_customer ON orders (tenant_id, customer, placed_at);
CREATE INDEX orders_cart ON orders (tenant_id, cart_id, confirmed, cancelled);
-- The currencies of counted orders, read by every report.
CREATE INDEX orders_counted ON orders (tenant_id, confirmed, cancelled, currency);

CREATE TABLE order_lines (
    tenant_id  TEXT   NOT NULL,
    order_id   TEXT   NOT NULL,
    line_no    BIGINT NOT NULL,
    sku        TEXT   NOT NULL,
    product_id TEXT   NOT NULL,
    title      TEXT   NOT NULL,
    quantity   BIGINT NOT NULL,
    total      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, line_no)
);

-- Returns received (order.return_received.v1).
CREATE TABLE returns (
    tenant_id   TEXT   NOT NULL,
    return_id   TEXT   NOT NULL,
    order_id    TEXT   NOT NULL,
    units       BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, return_id)
);
CREATE INDEX returns_order ON returns (tenant_id, order_id);

-- Carts opened (cart.created.v1): the funnel's first step.
CREATE TABLE carts (
    tenant_id  TEXT   NOT NULL,
    cart_id    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, cart_id)
);
CREATE INDEX carts_created ON carts (tenant_id, created_at);

-- Products and variants as the newest catalog event told (version is the
-- product's updated_at).
CREATE TABLE products (
    tenant_id     TEXT   NOT NULL,
    product_id    TEXT   NOT NULL,
    title         TEXT   NOT NULL,
    category_id   TEXT   NOT NULL DEFAULT '',
    category_name TEXT   NOT NULL DEFAULT '',
    version       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, product_id)
);

CREATE TABLE variants (
    tenant_id  TEXT   NOT NULL,
    sku        TEXT   NOT NULL,
    product_id TEXT   NOT NULL,
    currency   TEXT   NOT NULL,
    -- NULL when the catalog knows no cost.
    cost_price BIGINT,
    version    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sku)
);

-- Changes of units on hand (inventory.stock_adjusted.v1: adjustments and
-- restocks; inventory.stock_committed.v1: units that left for an order).
CREATE TABLE stock_moves (
    tenant_id TEXT   NOT NULL,
    event_id  TEXT   NOT NULL,
    line_no   BIGINT NOT NULL,
    sku       TEXT   NOT NULL,
    kind      TEXT   NOT NULL CHECK (kind IN ('adjustment', 'restock', 'commit')),
    delta     BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, event_id, line_no)
);
CREATE INDEX stock_moves_at ON stock_moves (tenant_id, at);

-- +goose Down
DROP TABLE stock_moves;
DROP TABLE variants;
DROP TABLE products;
DROP TABLE carts;
DROP TABLE returns;
DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE stores;
DROP TABLE event_log;
