-- name: insert_token
WITH t AS (
    INSERT INTO access_tokens (subject_user_id, creator_user_id, value_sha256, note, scopes)
    VALUES (:subject_user_id, :creator_user_id, :digest, :note, :scopes)
    RETURNING *
)
SELECT t.id, t.note, t.scopes, t.created_at, t.last_used_at, u.username::text AS creator
  FROM t JOIN users u ON u.id = t.creator_user_id

-- name: token_holder
-- Resolves a digest to its live user and records the use, at most once a minute per token: a
-- busy CI token would otherwise turn every read into a write.
WITH hit AS (
    SELECT id, subject_user_id, scopes, last_used_at FROM access_tokens
     WHERE value_sha256 = :digest AND deleted_at IS NULL
), used AS (
    UPDATE access_tokens SET last_used_at = now()
     WHERE id = (SELECT id FROM hit)
       AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
)
SELECT hit.id AS token_id, hit.scopes, u.id, u.username::text, u.display_name, u.avatar_url,
       u.site_admin, u.created_at, u.updated_at
  FROM hit JOIN users u ON u.id = hit.subject_user_id AND u.deleted_at IS NULL

-- name: list_tokens
SELECT t.id, t.note, t.scopes, t.created_at, t.last_used_at, u.username::text AS creator
  FROM access_tokens t JOIN users u ON u.id = t.creator_user_id
 WHERE t.subject_user_id = :user_id AND t.deleted_at IS NULL AND t.id > :after_id
 ORDER BY t.id
 LIMIT :limit

-- name: token_ref
SELECT id, subject_user_id AS owner_id FROM access_tokens WHERE id = :token_id AND deleted_at IS NULL

-- name: delete_token
UPDATE access_tokens SET deleted_at = now() WHERE id = :token_id AND deleted_at IS NULL

-- name: delete_tokens_of
-- All but :keep, the token making a password change.
UPDATE access_tokens SET deleted_at = now()
 WHERE subject_user_id = :user_id AND deleted_at IS NULL AND id IS DISTINCT FROM :keep::bigint
