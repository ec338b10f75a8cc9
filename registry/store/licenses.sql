-- name: insert_subscription
WITH s AS (INSERT INTO product_subscriptions (id, user_id) VALUES (gen_random_uuid(), :user_id) RETURNING *)
SELECT s.id, s.user_id, u.username::text AS username, s.billing_subscription_id, s.created_at, s.updated_at,
       s.archived_at
  FROM s JOIN users u ON u.id = s.user_id

-- name: subscription_by_id
SELECT s.id, s.user_id, u.username::text AS username, s.billing_subscription_id, s.created_at, s.updated_at,
       s.archived_at
  FROM product_subscriptions s JOIN users u ON u.id = s.user_id
 WHERE s.id = :subscription_id

-- name: subscription_by_id_locked
-- The row stays locked until the transaction ends, so that it cannot be archived while a license
-- is being issued for it.
SELECT s.id, s.user_id, u.username::text AS username, s.billing_subscription_id, s.created_at, s.updated_at,
       s.archived_at
  FROM product_subscriptions s JOIN users u ON u.id = s.user_id
 WHERE s.id = :subscription_id
   FOR UPDATE OF s

-- name: subscriptions_in_creation_order
-- Subscriptions (of one user, or all) after a (created_at, id) cursor.
SELECT s.id, s.user_id, u.username::text AS username, s.billing_subscription_id, s.created_at, s.updated_at,
       s.archived_at
  FROM product_subscriptions s JOIN users u ON u.id = s.user_id
 WHERE (:user_id::integer IS NULL OR s.user_id = :user_id)
   AND (:after_created_at::timestamptz IS NULL OR (s.created_at, s.id) > (:after_created_at, :after_id::uuid))
 ORDER BY s.created_at, s.id
 LIMIT :limit

-- name: archive_subscription
-- Idempotent: the first archived_at (and the updated_at it set) stays.
WITH s AS (
    UPDATE product_subscriptions
       SET archived_at = coalesce(archived_at, now()),
           updated_at = CASE WHEN archived_at IS NULL THEN now() ELSE updated_at END
     WHERE id = :subscription_id
 RETURNING *
)
SELECT s.id, s.user_id, u.username::text AS username, s.billing_subscription_id, s.created_at, s.updated_at,
       s.archived_at
  FROM s JOIN users u ON u.id = s.user_id

-- name: insert_license
INSERT INTO product_licenses (id, product_subscription_id, license_key)
VALUES (:license_id, :subscription_id, :license_key)
RETURNING id, product_subscription_id AS subscription_id, license_key, created_at

-- name: licenses_in_creation_order
SELECT id, product_subscription_id AS subscription_id, license_key, created_at
  FROM product_licenses
 WHERE product_subscription_id = :subscription_id
   AND (:after_created_at::timestamptz IS NULL OR (created_at, id) > (:after_created_at, :after_id::uuid))
 ORDER BY created_at, id
 LIMIT :limit
