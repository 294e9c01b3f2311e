-- +goose Up
-- An export is recorded before its first row goes out (in_progress = 1,
-- rows_count 0), and finished with its row count at the end: an entry
-- still in progress is an export that stopped without saying how far it
-- got. Entries recorded before this change were recorded at their end.
ALTER TABLE export_audit ADD COLUMN in_progress BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE export_audit DROP COLUMN in_progress;
