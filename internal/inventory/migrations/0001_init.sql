-- +goose Up
-- Every table is keyed by tenant first. Timestamps are unix microseconds
-- (BIGINT), so the same schema runs unchanged on SQLite and PostgreSQL.

-- Stock locations (warehouses, shops). The location "default" is created
-- on first use, like any other.
CREATE TABLE locations (
    tenant_id  TEXT   NOT NULL,
    code       TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

-- One row per SKU the tenant stocks: the per-SKU settings. A NULL
-- low_stock_threshold means the configured default. low records that the
-- SKU is at or below its threshold, so inventory.stock_low.v1 is announced
-- once per crossing rather than on every decrement.
CREATE TABLE items (
    tenant_id           TEXT   NOT NULL,
    sku                 TEXT   NOT NULL,
    low_stock_threshold BIGINT CHECK (low_stock_threshold >= 0),
    low                 BIGINT NOT NULL DEFAULT 0 CHECK (low IN (0, 1)),
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sku)
);

-- Stock of one SKU at one location. available = on_hand - reserved is
-- computed. The CHECKs are the last line behind the conditional updates:
-- no interleaving of writers can make stock negative or over-reserved.
CREATE TABLE stock (
    tenant_id  TEXT   NOT NULL,
    sku        TEXT   NOT NULL,
    location   TEXT   NOT NULL,
    on_hand    BIGINT NOT NULL DEFAULT 0,
    reserved   BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sku, location),
    FOREIGN KEY (tenant_id, location) REFERENCES locations (tenant_id, code),
    FOREIGN KEY (tenant_id, sku) REFERENCES items (tenant_id, sku),
    CHECK (on_hand >= 0),
    CHECK (reserved >= 0),
    CHECK (reserved <= on_hand)
);

-- A reservation holds stock for one order until it is committed (the order
-- is confirmed), released (cancel, payment failure) or expires.
CREATE TABLE reservations (
    tenant_id  TEXT   NOT NULL,
    order_id   TEXT   NOT NULL,
    status     TEXT   NOT NULL CHECK (status IN ('held', 'committed', 'released', 'expired')),
    reason     TEXT   NOT NULL DEFAULT '',
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
-- The expiry sweeper looks across tenants for held reservations past due.
CREATE INDEX reservations_due ON reservations (status, expires_at);

CREATE TABLE reservation_lines (
    tenant_id TEXT   NOT NULL,
    order_id  TEXT   NOT NULL,
    position  BIGINT NOT NULL,
    sku       TEXT   NOT NULL,
    location  TEXT   NOT NULL,
    quantity  BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (tenant_id, order_id, position),
    UNIQUE (tenant_id, order_id, sku),
    FOREIGN KEY (tenant_id, order_id) REFERENCES reservations (tenant_id, order_id)
);
CREATE INDEX reservation_lines_stock ON reservation_lines (tenant_id, sku, location);

-- The ledger: every change of on_hand or reserved, written in the
-- transaction of the change. Per (sku, location) the deltas add up to the
-- stock row; the audit checks it. id is a UUIDv7: ordered by time.
CREATE TABLE movements (
    tenant_id      TEXT   NOT NULL,
    id             TEXT   NOT NULL,
    sku            TEXT   NOT NULL,
    location       TEXT   NOT NULL,
    kind           TEXT   NOT NULL CHECK (kind IN ('adjustment', 'reserve', 'release', 'expire', 'commit', 'restock')),
    delta_on_hand  BIGINT NOT NULL,
    delta_reserved BIGINT NOT NULL,
    reason         TEXT   NOT NULL DEFAULT '',
    reference      TEXT   NOT NULL DEFAULT '',
    on_hand_after  BIGINT NOT NULL,
    reserved_after BIGINT NOT NULL,
    at             BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX movements_sku ON movements (tenant_id, sku, id);
CREATE INDEX movements_stock ON movements (tenant_id, sku, location);

-- Restocks applied, by reference (a return ID): a repeat changes nothing.
CREATE TABLE restocks (
    tenant_id  TEXT   NOT NULL,
    reference  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, reference)
);

-- +goose Down
DROP TABLE restocks;
DROP TABLE movements;
DROP TABLE reservation_lines;
DROP TABLE reservations;
DROP TABLE stock;
DROP TABLE items;
DROP TABLE locations;
