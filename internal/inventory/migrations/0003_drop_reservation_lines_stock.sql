-- +goose Up
-- reservation_lines_stock (tenant_id, sku, location) served only the audit,
-- which now sums the lines of held reservations in one grouped pass. Every
-- reserved line paid an insert into it.
DROP INDEX reservation_lines_stock;

-- +goose Down
CREATE INDEX reservation_lines_stock ON reservation_lines (tenant_id, sku, location);
