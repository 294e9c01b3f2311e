-- +goose Up
-- The files a store uploaded: one row per store and stored bytes (their
-- SHA-256), however often they were uploaded. The bytes and their resized
-- variants live in the blob store under the hash, shared by every store
-- that uploaded the same bytes. Timestamps are unix microseconds.
CREATE TABLE media (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    hash         TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    width        BIGINT NOT NULL CHECK (width > 0),
    height       BIGINT NOT NULL CHECK (height > 0),
    bytes        BIGINT NOT NULL CHECK (bytes > 0),
    -- The resized variants as JSON ([{"size":160,"width":…,"height":…}]).
    variants     TEXT   NOT NULL DEFAULT '[]',
    -- The file name of the first upload, as the uploader's disk had it.
    file_name    TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, hash)
);

-- +goose Down
DROP TABLE media;
