-- +goose Up
-- Every table is keyed by tenant first. Timestamps are unix microseconds
-- (BIGINT), so the same schema runs unchanged on SQLite and PostgreSQL.

-- The orders this store confirmed, as the order service's events told
-- (order.confirmed.v1, order.delivered.v1, order.cancelled.v1): who may
-- review what is decided from here, never by calling the order service.
-- updated_at is the order's own, so an older event never overwrites a
-- newer one.
CREATE TABLE purchases (
    tenant_id   TEXT   NOT NULL,
    order_id    TEXT   NOT NULL,
    -- The customer account the order belongs to; '' for a guest's.
    customer_id TEXT   NOT NULL DEFAULT '',
    -- Lowercase hex SHA-256 of the guest's order token ('' when unknown).
    token_hash  TEXT   NOT NULL DEFAULT '',
    status      TEXT   NOT NULL CHECK (status IN ('confirmed', 'delivered', 'cancelled')),
    -- The shipping address's name: the default author name of a review.
    buyer_name  TEXT   NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);

-- The lines of those orders: one review each at most.
CREATE TABLE purchase_lines (
    tenant_id  TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    sku        TEXT NOT NULL,
    product_id TEXT NOT NULL,
    title      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, sku)
);

CREATE TABLE reviews (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    product_id   TEXT   NOT NULL,
    order_id     TEXT   NOT NULL,
    sku          TEXT   NOT NULL,
    -- The customer account that wrote it; '' for a guest (who proves it is
    -- theirs with the order token).
    customer_id  TEXT   NOT NULL DEFAULT '',
    author_name  TEXT   NOT NULL,
    rating       BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title        TEXT   NOT NULL,
    body         TEXT   NOT NULL,
    status       TEXT   NOT NULL CHECK (status IN ('pending', 'published', 'rejected', 'hidden')),
    -- The reason staff gave for the last moderation, and who and when.
    reason       TEXT   NOT NULL DEFAULT '',
    moderated_by TEXT   NOT NULL DEFAULT '',
    moderated_at BIGINT,
    reply        TEXT   NOT NULL DEFAULT '',
    replied_at   BIGINT,
    published_at BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    -- One review per order line, on both engines: of two concurrent
    -- creates one inserts, the other meets this key (409 already_reviewed).
    UNIQUE (tenant_id, order_id, sku)
);
CREATE INDEX reviews_product ON reviews (tenant_id, product_id, status, created_at, id);
CREATE INDEX reviews_status ON reviews (tenant_id, status, created_at, id);

-- Each product's aggregate over its published reviews, recomputed in the
-- transaction of every change of that set; version numbers the changes
-- (review.rating_changed.v1's Version).
CREATE TABLE ratings (
    tenant_id  TEXT   NOT NULL,
    product_id TEXT   NOT NULL,
    review_count BIGINT NOT NULL DEFAULT 0 CHECK (review_count >= 0),
    rating_sum BIGINT NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),
    stars1     BIGINT NOT NULL DEFAULT 0,
    stars2     BIGINT NOT NULL DEFAULT 0,
    stars3     BIGINT NOT NULL DEFAULT 0,
    stars4     BIGINT NOT NULL DEFAULT 0,
    stars5     BIGINT NOT NULL DEFAULT 0,
    version    BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, product_id)
);

-- The review writes (creates and edits) of each author, for the rate
-- limit: a window's rows are counted before a write; older ones are
-- dropped as the author writes again.
CREATE TABLE writes (
    tenant_id TEXT   NOT NULL,
    author    TEXT   NOT NULL,
    at        BIGINT NOT NULL,
    id        TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, author, at, id)
);

-- The store's review settings; a store without a row publishes at once.
CREATE TABLE settings (
    tenant_id  TEXT   NOT NULL PRIMARY KEY,
    moderation TEXT   NOT NULL CHECK (moderation IN ('publish', 'approve')),
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE writes;
DROP TABLE ratings;
DROP TABLE reviews;
DROP TABLE purchase_lines;
DROP TABLE purchases;
