-- name: InsertCustomer :exec
INSERT INTO customers (tenant_id, id, email, name, phone, password_hash, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(email), sqlc.arg(name), sqlc.arg(phone),
    sqlc.arg(password_hash), sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: GetCustomer :one
SELECT * FROM customers
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: GetCustomerByEmail :one
SELECT * FROM customers
WHERE tenant_id = sqlc.arg(tenant_id) AND email = sqlc.arg(email);

-- name: UpdateCustomerProfile :execrows
UPDATE customers SET name = sqlc.arg(name), phone = sqlc.arg(phone), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: SetCustomerPassword :execrows
UPDATE customers SET password_hash = sqlc.arg(password_hash), updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id);

-- name: RehashCustomerPassword :execrows
-- Replaces a hash with the same password under new parameters, only if the
-- hash is still the one the login verified (a concurrent change wins).
UPDATE customers SET password_hash = sqlc.arg(password_hash)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND password_hash = sqlc.arg(old_hash);

-- name: ListAddresses :many
SELECT * FROM addresses
WHERE tenant_id = sqlc.arg(tenant_id) AND customer_id = sqlc.arg(customer_id)
ORDER BY is_default DESC, created_at, id;

-- name: GetAddress :one
SELECT * FROM addresses
WHERE tenant_id = sqlc.arg(tenant_id) AND customer_id = sqlc.arg(customer_id) AND id = sqlc.arg(id);

-- name: CountAddresses :one
SELECT COUNT(*) FROM addresses
WHERE tenant_id = sqlc.arg(tenant_id) AND customer_id = sqlc.arg(customer_id);

-- name: InsertAddress :exec
INSERT INTO addresses (tenant_id, id, customer_id, name, line1, line2, city, region, postal_code,
    country, phone, is_default, created_at, updated_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(id), sqlc.arg(customer_id), sqlc.arg(name), sqlc.arg(line1),
    sqlc.arg(line2), sqlc.arg(city), sqlc.arg(region), sqlc.arg(postal_code), sqlc.arg(country),
    sqlc.arg(phone), sqlc.arg(is_default), sqlc.arg(created_at), sqlc.arg(updated_at));

-- name: UpdateAddress :execrows
UPDATE addresses SET name = sqlc.arg(name), line1 = sqlc.arg(line1), line2 = sqlc.arg(line2),
    city = sqlc.arg(city), region = sqlc.arg(region), postal_code = sqlc.arg(postal_code),
    country = sqlc.arg(country), phone = sqlc.arg(phone), is_default = sqlc.arg(is_default),
    updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND customer_id = sqlc.arg(customer_id) AND id = sqlc.arg(id);

-- name: ClearDefaultAddress :exec
UPDATE addresses SET is_default = 0, updated_at = sqlc.arg(updated_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND customer_id = sqlc.arg(customer_id) AND is_default = 1
    AND id <> sqlc.arg(keep_id);

-- name: DeleteAddress :execrows
DELETE FROM addresses
WHERE tenant_id = sqlc.arg(tenant_id) AND customer_id = sqlc.arg(customer_id) AND id = sqlc.arg(id);

-- name: InsertPasswordReset :exec
INSERT INTO password_resets (tenant_id, token_hash, customer_id, expires_at, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(token_hash), sqlc.arg(customer_id), sqlc.arg(expires_at), sqlc.arg(created_at));

-- name: UsePasswordReset :one
-- Marks an unused, unexpired reset token used and returns its customer: one
-- statement, so two confirmations of one token cannot both succeed.
UPDATE password_resets SET used_at = sqlc.arg(now)
WHERE tenant_id = sqlc.arg(tenant_id) AND token_hash = sqlc.arg(token_hash)
    AND used_at IS NULL AND expires_at > sqlc.arg(now)
RETURNING customer_id;

-- name: ExpireCustomerResets :exec
-- Invalidates a customer's other reset tokens once the password changed.
UPDATE password_resets SET used_at = sqlc.arg(now)
WHERE tenant_id = sqlc.arg(tenant_id) AND customer_id = sqlc.arg(customer_id) AND used_at IS NULL;

-- name: PrunePasswordResets :execrows
DELETE FROM password_resets WHERE expires_at < sqlc.arg(before);

-- name: GetPasswordReset :one
SELECT * FROM password_resets
WHERE tenant_id = sqlc.arg(tenant_id) AND token_hash = sqlc.arg(token_hash);

-- name: InsertEmailVerification :exec
INSERT INTO email_verifications (tenant_id, token_hash, customer_id, email, expires_at, created_at)
VALUES (sqlc.arg(tenant_id), sqlc.arg(token_hash), sqlc.arg(customer_id), sqlc.arg(email),
    sqlc.arg(expires_at), sqlc.arg(created_at));

-- name: GetEmailVerification :one
SELECT * FROM email_verifications
WHERE tenant_id = sqlc.arg(tenant_id) AND token_hash = sqlc.arg(token_hash);

-- name: UseEmailVerification :one
-- Marks an unused, unexpired verification token used and returns its
-- customer: one statement, so two confirmations of one token cannot both
-- succeed.
UPDATE email_verifications SET used_at = sqlc.arg(now)
WHERE tenant_id = sqlc.arg(tenant_id) AND token_hash = sqlc.arg(token_hash)
    AND used_at IS NULL AND expires_at > sqlc.arg(now)
RETURNING customer_id, email;

-- name: ExpireCustomerVerifications :exec
-- Invalidates a customer's other verification tokens once the address is
-- verified.
UPDATE email_verifications SET used_at = sqlc.arg(now)
WHERE tenant_id = sqlc.arg(tenant_id) AND customer_id = sqlc.arg(customer_id) AND used_at IS NULL;

-- name: LatestEmailVerification :one
-- The customer's newest verification token: a resend soon after it sends
-- nothing new.
SELECT created_at FROM email_verifications
WHERE tenant_id = sqlc.arg(tenant_id) AND customer_id = sqlc.arg(customer_id)
ORDER BY created_at DESC
LIMIT 1;

-- name: SetCustomerEmailVerified :execrows
-- Sets the verification time once, for the address it was proven for.
UPDATE customers SET email_verified_at = sqlc.arg(verified_at), updated_at = sqlc.arg(verified_at)
WHERE tenant_id = sqlc.arg(tenant_id) AND id = sqlc.arg(id) AND email = sqlc.arg(email)
    AND email_verified_at IS NULL;

-- name: PruneEmailVerifications :execrows
DELETE FROM email_verifications WHERE expires_at < sqlc.arg(before);

-- name: ListCustomers :many
-- The store's customers in ID order (UUIDv7: oldest first), a page after
-- the given ID.
SELECT * FROM customers
WHERE tenant_id = sqlc.arg(tenant_id) AND id > sqlc.arg(after)
ORDER BY id
LIMIT sqlc.arg(n);
