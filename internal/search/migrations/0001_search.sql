-- +goose Up
-- The search projection: what the catalog, inventory and review events said
-- of each product, merged per product, so that an index (one per search
-- replica, per tenant) can be rebuilt from here at any time. Timestamps are
-- unix microseconds (BIGINT), so the same schema runs on both engines.

-- One row per product any event named. snapshot is the catalog's product
-- JSON with its category ('' until the catalog's first event arrives: a
-- rating can come first). rev grows with every change of the row, so an
-- index that tails changed_at knows what it has seen.
CREATE TABLE search_products (
    tenant_id        TEXT   NOT NULL,
    product_id       TEXT   NOT NULL,
    snapshot         TEXT   NOT NULL DEFAULT '',
    product_version  BIGINT NOT NULL DEFAULT 0,
    rating_average   BIGINT NOT NULL DEFAULT 0,
    rating_count     BIGINT NOT NULL DEFAULT 0,
    rating_version   BIGINT NOT NULL DEFAULT 0,
    rev              BIGINT NOT NULL DEFAULT 1,
    changed_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, product_id)
);
CREATE INDEX search_products_changed ON search_products (changed_at);

-- Which product each SKU belongs to, from the catalog's snapshots, so a
-- stock event (which names SKUs) finds the product to index again.
CREATE TABLE search_skus (
    tenant_id  TEXT NOT NULL,
    sku        TEXT NOT NULL,
    product_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sku)
);
CREATE INDEX search_skus_product ON search_skus (tenant_id, product_id);

-- The available units of each SKU over every location, as the newest
-- inventory event said (version: its time).
CREATE TABLE search_stock (
    tenant_id TEXT   NOT NULL,
    sku       TEXT   NOT NULL,
    available BIGINT NOT NULL,
    version   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sku)
);

-- +goose Down
DROP TABLE search_stock;
DROP TABLE search_skus;
DROP TABLE search_products;
