-- +goose Up
-- The newest logo upload (media.uploaded.v1) each store took, by the time
-- it was uploaded, so that an older upload delivered late never replaces
-- a newer one. Unix microseconds.
CREATE TABLE logo_uploads (
    tenant_id   TEXT   NOT NULL PRIMARY KEY,
    uploaded_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE logo_uploads;
