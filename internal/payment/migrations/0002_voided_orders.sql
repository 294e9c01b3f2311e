-- +goose Up
-- Orders whose payment was voided before any authorization of theirs was
-- recorded here: the order gave up on an Authorize call that had not
-- arrived yet (a timeout, a crash). An Authorize that arrives after the
-- void is refused, instead of holding money for a cancelled order.
CREATE TABLE voided_orders (
    tenant_id  TEXT   NOT NULL,
    order_id   TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
-- The sweep drops marks past their retention through this index.
CREATE INDEX voided_orders_created ON voided_orders (created_at);

-- +goose Down
DROP TABLE voided_orders;
