-- name: lock_site_config
-- Two processes starting at once cannot both add the site's row.
SELECT pg_advisory_xact_lock(hashtext('wharf:site_config'))

-- name: ensure_site_config
INSERT INTO site_config (site_id, initialized)
SELECT gen_random_uuid(), :initialized::boolean WHERE NOT EXISTS (SELECT FROM site_config)

-- name: site_initialized
SELECT initialized FROM site_config LIMIT 1

-- name: site_initialized_for_update
-- The row stays locked until the transaction ends: two first sign-ups cannot both become site admin.
SELECT initialized FROM site_config LIMIT 1 FOR UPDATE

-- name: mark_site_initialized
UPDATE site_config SET initialized = true

-- name: insert_user
INSERT INTO users AS u (username, display_name, passwd, site_admin)
VALUES (:username, :display_name, :password_hash, :site_admin)
RETURNING u.id, u.username::text, u.display_name, u.avatar_url, u.site_admin, u.created_at, u.updated_at

-- name: claim_name
-- names_pkey makes a clash a 409.
INSERT INTO names (name, user_id, org_id) VALUES (:name, :user_id::integer, :org_id::integer)

-- name: release_name
DELETE FROM names WHERE user_id = :user_id::integer OR org_id = :org_id::integer

-- name: user_by_username
SELECT u.id, u.username::text, u.display_name, u.avatar_url, u.site_admin, u.created_at, u.updated_at
  FROM users u
 WHERE u.username = :username AND u.deleted_at IS NULL

-- name: user_by_id
SELECT u.id, u.username::text, u.display_name, u.avatar_url, u.site_admin, u.created_at, u.updated_at
  FROM users u
 WHERE u.id = :user_id AND u.deleted_at IS NULL

-- name: password_hash
SELECT u.id, u.username::text, u.display_name, u.avatar_url, u.site_admin, u.created_at, u.updated_at, u.passwd
  FROM users u
 WHERE u.username = :username AND u.deleted_at IS NULL

-- name: update_user
-- Each column changes only when its `set_` flag says so (a change to NULL is a change too).
UPDATE users AS u
   SET username = CASE WHEN :set_username::boolean THEN :username::citext ELSE u.username END,
       display_name = CASE WHEN :set_display_name::boolean THEN :display_name::text ELSE u.display_name END,
       avatar_url = CASE WHEN :set_avatar_url::boolean THEN :avatar_url::text ELSE u.avatar_url END,
       passwd = CASE WHEN :set_passwd::boolean THEN :passwd::text ELSE u.passwd END,
       site_admin = CASE WHEN :set_site_admin::boolean THEN :site_admin::boolean ELSE u.site_admin END,
       updated_at = now()
 WHERE u.id = :user_id AND u.deleted_at IS NULL
RETURNING u.id, u.username::text, u.display_name, u.avatar_url, u.site_admin, u.created_at, u.updated_at

-- name: rename_user_name
UPDATE names SET name = :new_name WHERE user_id = :user_id

-- name: soft_delete_user
UPDATE users SET deleted_at = now(), updated_at = now() WHERE id = :user_id AND deleted_at IS NULL

-- name: site_admins_for_update
-- Locked, each of them, so that two demotions cannot both pass.
SELECT id FROM users WHERE site_admin AND deleted_at IS NULL FOR UPDATE
