-- +goose Up
-- One row per author who wrote a review: every write of an author first
-- updates it, which on PostgreSQL locks it until commit, so the rate
-- limit's count of an author's writes is read and acted on by one writer
-- at a time (SQLite serialises all writers anyway).
CREATE TABLE authors (
    tenant_id     TEXT   NOT NULL,
    author        TEXT   NOT NULL,
    last_write_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, author)
);

-- +goose Down
DROP TABLE authors;
