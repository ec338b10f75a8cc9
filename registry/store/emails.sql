-- name: insert_email
INSERT INTO user_emails (user_id, email, verification_code) VALUES (:user_id, :email, :code)
RETURNING email::text, created_at, verified_at

-- name: list_emails
SELECT email::text, created_at, verified_at FROM user_emails WHERE user_id = :user_id ORDER BY created_at, email

-- name: verification_of
SELECT email::text, verification_code AS code, verified_at
  FROM user_emails
 WHERE user_id = :user_id AND email = :email

-- name: mark_verified
-- The EXCLUDE constraint lets one user at most hold an address verified.
UPDATE user_emails SET verified_at = now(), verification_code = NULL
 WHERE user_id = :user_id AND email = :email AND verified_at IS NULL
RETURNING email::text, created_at, verified_at

-- name: delete_email
DELETE FROM user_emails WHERE user_id = :user_id AND email = :email
