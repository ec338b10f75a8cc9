-- name: release_from_deleted_users
-- A deleted user still holding the account lets go of it, so that it may be linked again.
UPDATE user_external_accounts e SET deleted_at = now(), updated_at = now()
  FROM users u
 WHERE u.id = e.user_id AND u.deleted_at IS NOT NULL AND e.deleted_at IS NULL
   AND e.service_type = :service_type AND e.service_id = :service_id AND e.client_id = :client_id
   AND e.account_id = :account_id

-- name: insert_external_account
-- Concurrent links of one account serialise on the user_external_accounts_account unique index:
-- exactly one gets a row.
INSERT INTO user_external_accounts AS e
       (user_id, service_type, service_id, client_id, account_id, auth_data, account_data)
VALUES (:user_id, :service_type, :service_id, :client_id, :account_id, :auth_data, :account_data)
    ON CONFLICT (service_type, service_id, client_id, account_id) WHERE deleted_at IS NULL DO NOTHING
RETURNING e.id, e.user_id, e.service_type, e.service_id, e.client_id, e.account_id, e.account_data,
          e.created_at, e.updated_at

-- name: list_external_accounts
SELECT e.id, e.user_id, e.service_type, e.service_id, e.client_id, e.account_id, e.account_data,
       e.created_at, e.updated_at
  FROM user_external_accounts e
 WHERE e.user_id = :user_id AND e.deleted_at IS NULL AND e.id > :after_id
 ORDER BY e.id
 LIMIT :limit

-- name: delete_external_account
UPDATE user_external_accounts SET deleted_at = now(), updated_at = now()
 WHERE id = :account_id AND user_id = :user_id AND deleted_at IS NULL

-- name: user_by_external_account
SELECT e.id AS link_id, u.id, u.username::text, u.display_name, u.avatar_url, u.site_admin,
       u.created_at, u.updated_at
  FROM user_external_accounts e JOIN users u ON u.id = e.user_id AND u.deleted_at IS NULL
 WHERE e.service_type = :service_type AND e.service_id = :service_id AND e.client_id = :client_id
   AND e.account_id = :account_id AND e.deleted_at IS NULL
