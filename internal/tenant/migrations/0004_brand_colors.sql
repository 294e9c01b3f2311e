-- +goose Up
-- The storefront's colours: CSS hex colours "#rrggbb", lowercase (the
-- service checks them). Existing stores get the defaults of new ones.
ALTER TABLE tenants ADD COLUMN brand_color TEXT NOT NULL DEFAULT '#1f5f4a';
ALTER TABLE tenants ADD COLUMN accent_color TEXT NOT NULL DEFAULT '#b4461f';

-- +goose Down
ALTER TABLE tenants DROP COLUMN accent_color;
ALTER TABLE tenants DROP COLUMN brand_color;
