-- name: publisher_by_name
-- The live user or org holding a name (case-insensitively) in the shared namespace.
SELECT coalesce(u.username, o.name)::text AS name, u.id AS user_id, o.id AS org_id
  FROM names n
  LEFT JOIN users u ON u.id = n.user_id AND u.deleted_at IS NULL
  LEFT JOIN orgs o ON o.id = n.org_id AND o.deleted_at IS NULL
 WHERE n.name = :name AND (u.id IS NOT NULL OR o.id IS NOT NULL)
