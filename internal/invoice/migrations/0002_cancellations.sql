-- +goose Up
-- When an order was cancelled (unix microseconds; 0: it was not), kept on
-- its buyer row by the cancellation's transaction. An order cancelled
-- before it was invoiced is never invoiced: a confirmation or shipment
-- handled after (redelivered, or on another replica at the same time)
-- finds it here. Every order event upserts this row first, so on
-- PostgreSQL the events of one order take its row lock in turn and see
-- each other's outcome.
ALTER TABLE buyers ADD COLUMN cancelled_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE buyers DROP COLUMN cancelled_at;
