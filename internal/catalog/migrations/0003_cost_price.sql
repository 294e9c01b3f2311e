-- +goose Up
-- What a variant costs the store, in minor units of its price's currency:
-- optional (NULL when unknown). Staff see it; the public never does. The
-- analytics service values stock and the cost of goods sold with it.
ALTER TABLE variants ADD COLUMN cost_price BIGINT CHECK (cost_price >= 0);

-- +goose Down
ALTER TABLE variants DROP COLUMN cost_price;
