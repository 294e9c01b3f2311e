-- +goose Up
-- Every table is keyed by tenant first: primary keys, uniques and foreign keys
-- all include tenant_id, so no row can ever point into another tenant.
-- Timestamps are unix microseconds (BIGINT) and JSON blobs TEXT, so the same
-- schema runs unchanged on SQLite and PostgreSQL.

CREATE TABLE categories (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    parent_id   TEXT,
    slug        TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL DEFAULT '',
    position    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, slug),
    -- A NULL parent_id is a root: composite foreign keys are not checked
    -- when one of their columns is NULL, on both engines.
    FOREIGN KEY (tenant_id, parent_id) REFERENCES categories (tenant_id, id)
);
CREATE INDEX categories_parent ON categories (tenant_id, parent_id);

CREATE TABLE products (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    slug        TEXT   NOT NULL,
    title       TEXT   NOT NULL,
    description TEXT   NOT NULL DEFAULT '',
    status      TEXT   NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    category_id TEXT,
    -- JSON: [{"name": "Size", "values": ["S", "M"]}]
    options     TEXT   NOT NULL DEFAULT '[]',
    -- JSON: {"origin": "Ethiopia"}
    attributes  TEXT   NOT NULL DEFAULT '{}',
    -- JSON: [{"url": "...", "alt": "..."}]
    images      TEXT   NOT NULL DEFAULT '[]',
    -- The lowest variant price, kept in step with the variants by every
    -- write: the price filters and sorts read it without touching variants.
    min_price   BIGINT NOT NULL CHECK (min_price >= 0),
    currency    TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, slug),
    FOREIGN KEY (tenant_id, category_id) REFERENCES categories (tenant_id, id)
);
-- One index per public sort, each ending in id for the keyset tie-break.
CREATE INDEX products_newest ON products (tenant_id, status, created_at, id);
CREATE INDEX products_price ON products (tenant_id, status, min_price, id);
CREATE INDEX products_title ON products (tenant_id, status, title, id);
CREATE INDEX products_admin ON products (tenant_id, created_at, id);
CREATE INDEX products_category ON products (tenant_id, category_id);

CREATE TABLE variants (
    tenant_id  TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    product_id TEXT   NOT NULL,
    sku        TEXT   NOT NULL,
    title      TEXT   NOT NULL DEFAULT '',
    price      BIGINT NOT NULL CHECK (price >= 0),
    currency   TEXT   NOT NULL,
    -- JSON: {"Size": "M"}
    options    TEXT   NOT NULL DEFAULT '{}',
    position   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    -- SKUs identify stock across services, so they are unique per tenant,
    -- archived products included.
    UNIQUE (tenant_id, sku),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX variants_product ON variants (tenant_id, product_id, position);

-- +goose Down
DROP TABLE variants;
DROP TABLE products;
DROP TABLE categories;
