-- name: ClaimLogoUpload :execrows
-- Records a logo upload unless the store took a newer one: 0 rows when
-- the upload is older than (or as old as) the one recorded.
INSERT INTO logo_uploads (tenant_id, uploaded_at) VALUES (sqlc.arg(tenant_id), sqlc.arg(uploaded_at))
ON CONFLICT (tenant_id) DO UPDATE SET uploaded_at = excluded.uploaded_at
WHERE logo_uploads.uploaded_at < excluded.uploaded_at;
