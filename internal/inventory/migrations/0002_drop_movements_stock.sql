-- +goose Up
-- movements_sku (tenant_id, sku, id) serves every query of the ledger: the
-- audit's sums per (sku, location) search its (tenant_id, sku) prefix. Each
-- stock change writes a ledger row, so one index fewer is one B-tree insert
-- fewer on every reserve, commit and release line.
DROP INDEX movements_stock;

-- +goose Down
CREATE INDEX movements_stock ON movements (tenant_id, sku, location);
