-- name: NextNumber :one
-- Takes the next number of a series in the issuing transaction: the
-- counter row is created at 1 or bumped, and locked (PostgreSQL) until the
-- transaction ends, so concurrent issues wait for one another and a
-- rollback gives the number back.
INSERT INTO counters (tenant_id, series, year, last)
VALUES (sqlc.arg(tenant_id), sqlc.arg(series), sqlc.arg(year), 1)
ON CONFLICT (tenant_id, series, year) DO UPDATE SET last = counters.last + 1
RETURNING last;

-- name: InsertDocument :exec
INSERT INTO documents (tenant_id, id, kind, series, year, seq, number, order_id, invoice_id, source, customer_id,
    email, currency, total, issued_at, body, pdf, xml)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(kind), sqlc.arg(series), sqlc.arg(year), sqlc.arg(seq),
    sqlc.arg(number), sqlc.arg(order_id), sqlc.arg(invoice_id), sqlc.arg(source), sqlc.arg(customer_id),
    sqlc.arg(email), sqlc.arg(currency), sqlc.arg(total), sqlc.arg(issued_at), sqlc.arg(body), sqlc.arg(pdf),
    sqlc.arg(xml));

-- name: SourceIssued :one
-- Whether the source (an order, a refund, a return) issued its document.
SELECT COUNT(*) FROM documents
WHERE tenant_id = sqlc.arg(tenant_id) AND source = sqlc.arg(source);

-- name: GetDocument :one
SELECT id, kind, number, order_id, customer_id, email, body FROM documents
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: GetOrderInvoice :one
SELECT id, kind, number, order_id, customer_id, email, body FROM documents
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id) AND kind = 'invoice';

-- name: GetFile :one
-- The stored renderings of a document.
SELECT order_id, number, pdf, xml FROM documents
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: CreditedTotal :one
-- What the credit notes of an invoice credited so far.
SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM documents
WHERE tenant_id = sqlc.arg(tenant_id) AND invoice_id = sqlc.arg(invoice_id) AND kind = 'credit_note';

-- name: ListCredits :many
SELECT id, kind, number, order_id, customer_id, email, body FROM documents
WHERE tenant_id = sqlc.arg(tenant_id) AND invoice_id = sqlc.arg(invoice_id) AND kind = 'credit_note'
ORDER BY issued_at, id;

-- name: ListDocuments :many
-- The store's documents, newest first; keyset on (issued_at, id) (the
-- first page passes the largest issued_at). q, when not empty, is a
-- document number, an order ID or an email (lowercased).
SELECT id, kind, number, order_id, customer_id, email, body FROM documents
WHERE tenant_id = sqlc.arg(tenant_id)
  AND (sqlc.arg(kind) = '' OR kind = sqlc.arg(kind))
  AND (sqlc.arg(q) = '' OR number = sqlc.arg(q) OR order_id = sqlc.arg(q) OR email = sqlc.arg(q))
  AND (issued_at < sqlc.arg(after_at)
       OR (issued_at = sqlc.arg(after_at) AND id < CAST(sqlc.arg(after_id) AS TEXT)))
ORDER BY issued_at DESC, id DESC
LIMIT sqlc.arg(max_rows);

-- name: ListOrderDocuments :many
-- An order's invoice and credit notes, in the order they were issued.
SELECT id, kind, number, order_id, customer_id, email, body FROM documents
WHERE tenant_id = sqlc.arg(tenant_id) AND order_id = sqlc.arg(order_id)
ORDER BY issued_at, id;

-- name: ListSeries :many
-- The numbers of a series and year, in order (the numbering tests).
SELECT seq FROM documents
WHERE tenant_id = sqlc.arg(tenant_id) AND series = sqlc.arg(series) AND year = sqlc.arg(year)
ORDER BY seq;
