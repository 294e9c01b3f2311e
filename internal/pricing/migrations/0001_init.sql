-- +goose Up
-- Every table is keyed by tenant first. Timestamps are unix microseconds
-- (BIGINT), lists are JSON arrays in TEXT, amounts are BIGINT minor units, so
-- the same schema runs unchanged on SQLite and PostgreSQL.

-- The store's pricing settings; a tenant without a row gets the defaults.
CREATE TABLE settings (
    tenant_id               TEXT    NOT NULL PRIMARY KEY,
    tax_inclusive           BOOLEAN NOT NULL,
    currency                TEXT    NOT NULL,
    default_shipping_method TEXT    NOT NULL DEFAULT '',
    default_country         TEXT    NOT NULL DEFAULT '',
    updated_at              BIGINT  NOT NULL
);

CREATE TABLE discounts (
    tenant_id                TEXT    NOT NULL,
    id                       TEXT    NOT NULL,
    name                     TEXT    NOT NULL,
    -- Upper-cased coupon code; NULL for an automatic discount. NULLs are
    -- distinct in UNIQUE on both engines, so automatic ones never clash.
    code                     TEXT,
    kind                     TEXT    NOT NULL CHECK (kind IN ('percentage', 'fixed', 'free_shipping')),
    percent_bp               BIGINT  NOT NULL DEFAULT 0 CHECK (percent_bp BETWEEN 0 AND 10000),
    amount                   BIGINT  NOT NULL DEFAULT 0 CHECK (amount >= 0),
    -- The currency of amount and min_subtotal; '' when neither is set.
    currency                 TEXT    NOT NULL DEFAULT '',
    scope                    TEXT    NOT NULL CHECK (scope IN ('order', 'product', 'category')),
    product_ids              TEXT    NOT NULL DEFAULT '[]',
    category_ids             TEXT    NOT NULL DEFAULT '[]',
    starts_at                BIGINT,
    ends_at                  BIGINT,
    usage_limit              BIGINT CHECK (usage_limit >= 0),
    usage_limit_per_customer BIGINT CHECK (usage_limit_per_customer >= 0),
    -- Active redemptions: Redeem takes a use with one conditional UPDATE
    -- (used < usage_limit), so the limit holds under concurrency.
    used                     BIGINT  NOT NULL DEFAULT 0 CHECK (used >= 0),
    min_subtotal             BIGINT CHECK (min_subtotal >= 0),
    stackable                BOOLEAN NOT NULL,
    priority                 BIGINT  NOT NULL DEFAULT 0,
    active                   BOOLEAN NOT NULL,
    created_at               BIGINT  NOT NULL,
    updated_at               BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code)
);

-- Uses of a discount per customer (lowercased email), taken with the same
-- conditional UPDATE as the discount's own counter.
CREATE TABLE customer_uses (
    tenant_id   TEXT   NOT NULL,
    discount_id TEXT   NOT NULL,
    email       TEXT   NOT NULL,
    used        BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (tenant_id, discount_id, email)
);

-- One coupon redemption per order: the order ID makes Redeem and Release
-- idempotent. No foreign key: a released redemption outlives its discount.
CREATE TABLE redemptions (
    tenant_id   TEXT   NOT NULL,
    order_id    TEXT   NOT NULL,
    discount_id TEXT   NOT NULL,
    coupon      TEXT   NOT NULL,
    email       TEXT   NOT NULL DEFAULT '',
    status      TEXT   NOT NULL CHECK (status IN ('active', 'released')),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);

CREATE TABLE tax_rates (
    tenant_id  TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    country    TEXT   NOT NULL,
    -- '' is the country rate; a region rate wins over it.
    region     TEXT   NOT NULL DEFAULT '',
    rate_bp    BIGINT NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, country, region)
);

CREATE TABLE shipping_methods (
    tenant_id  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    code       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    price      BIGINT  NOT NULL CHECK (price >= 0),
    currency   TEXT    NOT NULL,
    free_over  BIGINT CHECK (free_over >= 0),
    -- JSON array of ISO alpha-2 codes; [] serves everywhere.
    countries  TEXT    NOT NULL DEFAULT '[]',
    active     BOOLEAN NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code)
);

-- The local projection of catalog products: the version (updated_at) of
-- the last snapshot applied, so older snapshots arriving late are ignored.
CREATE TABLE products (
    tenant_id  TEXT   NOT NULL,
    product_id TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, product_id)
);

-- One row per SKU: what a quote needs to price it.
CREATE TABLE variants (
    tenant_id          TEXT    NOT NULL,
    sku                TEXT    NOT NULL,
    product_id         TEXT    NOT NULL,
    variant_id         TEXT    NOT NULL,
    title              TEXT    NOT NULL,
    category_id        TEXT    NOT NULL DEFAULT '',
    price              BIGINT  NOT NULL CHECK (price >= 0),
    currency           TEXT    NOT NULL,
    -- Only variants of active products are quotable.
    active             BOOLEAN NOT NULL,
    -- The product version this row comes from.
    product_updated_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, sku)
);
CREATE INDEX variants_product ON variants (tenant_id, product_id);

-- +goose Down
DROP TABLE variants;
DROP TABLE products;
DROP TABLE shipping_methods;
DROP TABLE tax_rates;
DROP TABLE redemptions;
DROP TABLE customer_uses;
DROP TABLE discounts;
DROP TABLE settings;
