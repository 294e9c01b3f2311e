-- +goose Up
-- Every table is keyed by tenant first, so no row can point into another
-- tenant. Timestamps are unix microseconds (BIGINT); the same schema runs
-- unchanged on SQLite and PostgreSQL.

-- A cart's ID is its guest's bearer secret (crypto/rand, see newCartID).
-- Text fields a cart may lack are '' rather than NULL: nothing distinguishes
-- the two and the code stays free of sql.NullString.
CREATE TABLE carts (
    tenant_id       TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    status          TEXT   NOT NULL CHECK (status IN ('open', 'checked_out')),
    email           TEXT   NOT NULL DEFAULT '',
    customer_id     TEXT   NOT NULL DEFAULT '',
    -- The currency of every line; '' while the cart is empty.
    currency        TEXT   NOT NULL DEFAULT '',
    coupon          TEXT   NOT NULL DEFAULT '',
    country         TEXT   NOT NULL DEFAULT '',
    region          TEXT   NOT NULL DEFAULT '',
    shipping_method TEXT   NOT NULL DEFAULT '',
    order_id        TEXT   NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    -- Every change sets it: the admin list's order and the sweeper's clock.
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX carts_recent ON carts (tenant_id, updated_at, id);
CREATE INDEX carts_status_recent ON carts (tenant_id, status, updated_at, id);
-- The sweeper looks across tenants for open carts untouched for long.
CREATE INDEX carts_sweep ON carts (status, updated_at);

CREATE TABLE cart_lines (
    tenant_id  TEXT   NOT NULL,
    cart_id    TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    sku        TEXT   NOT NULL,
    quantity   BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, cart_id, id),
    -- One line per SKU: adding an SKU again adds to its line.
    UNIQUE (tenant_id, cart_id, sku),
    FOREIGN KEY (tenant_id, cart_id) REFERENCES carts (tenant_id, id) ON DELETE CASCADE
);

-- The local projection of the catalog, built from catalog.product_*.v1
-- events, so a cart read never calls the catalog. One row per SKU.
CREATE TABLE catalog_skus (
    tenant_id          TEXT    NOT NULL,
    sku                TEXT    NOT NULL,
    product_id         TEXT    NOT NULL,
    variant_id         TEXT    NOT NULL,
    title              TEXT    NOT NULL,
    image_url          TEXT    NOT NULL DEFAULT '',
    price              BIGINT  NOT NULL CHECK (price >= 0),
    currency           TEXT    NOT NULL,
    -- The product is active and still has this SKU: it may be added.
    active             BOOLEAN NOT NULL,
    -- updated_at of the product snapshot the row comes from: an older
    -- snapshot, delivered late, never overwrites a newer one.
    product_updated_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, sku)
);
CREATE INDEX catalog_skus_product ON catalog_skus (tenant_id, product_id);

-- The newest snapshot applied per product: events of one product may arrive
-- out of order (redelivery, replay), and only a newer one is applied.
CREATE TABLE catalog_products (
    tenant_id  TEXT   NOT NULL,
    product_id TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, product_id)
);

-- +goose Down
DROP TABLE catalog_products;
DROP TABLE catalog_skus;
DROP TABLE cart_lines;
DROP TABLE carts;
