-- name: insert_org
INSERT INTO orgs AS o (name, display_name) VALUES (:name, :display_name)
RETURNING o.id, o.name::text, o.display_name, o.created_at, o.updated_at

-- name: org_by_name
SELECT o.id, o.name::text, o.display_name, o.created_at, o.updated_at
  FROM orgs o
 WHERE o.name = :name AND o.deleted_at IS NULL

-- name: org_by_name_for_update
-- Membership changes serialise on the org's row, so an org never loses its last member to two
-- concurrent removals.
SELECT o.id, o.name::text, o.display_name, o.created_at, o.updated_at
  FROM orgs o
 WHERE o.name = :name AND o.deleted_at IS NULL
   FOR UPDATE

-- name: org_membership
-- A live org and whether :user_id (NULL: anonymous) is one of its members.
SELECT o.id, o.name::text, o.display_name, o.created_at, o.updated_at,
       EXISTS (SELECT FROM org_members m WHERE m.org_id = o.id AND m.user_id = :user_id::integer) AS member
  FROM orgs o
 WHERE o.name = :name AND o.deleted_at IS NULL

-- name: org_by_id
SELECT o.id, o.name::text, o.display_name, o.created_at, o.updated_at
  FROM orgs o
 WHERE o.id = :org_id AND o.deleted_at IS NULL

-- name: update_org_display_name
UPDATE orgs AS o SET display_name = :display_name, updated_at = now()
 WHERE o.id = :org_id AND o.deleted_at IS NULL
RETURNING o.id, o.name::text, o.display_name, o.created_at, o.updated_at

-- name: soft_delete_org
UPDATE orgs SET deleted_at = now(), updated_at = now() WHERE id = :org_id AND deleted_at IS NULL

-- name: insert_member
INSERT INTO org_members (org_id, user_id) VALUES (:org_id, :user_id)

-- name: is_member
SELECT 1 FROM org_members WHERE org_id = :org_id AND user_id = :user_id

-- name: list_members
SELECT m.id AS membership_id, m.user_id, u.username::text, u.display_name, m.created_at AS joined_at
  FROM org_members m JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL
 WHERE m.org_id = :org_id AND m.id > :after_id
 ORDER BY m.id
 LIMIT :limit

-- name: count_members
SELECT count(*)
  FROM org_members m JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL
 WHERE m.org_id = :org_id

-- name: delete_member
DELETE FROM org_members WHERE org_id = :org_id AND user_id = :user_id
