-- name: redirect_target
-- The live publisher that gave up a name by a rename (not released): its current name.
SELECT coalesce(u.username, o.name)::text AS former_owner
  FROM retired_names r
  LEFT JOIN users u ON u.id = r.user_id AND u.deleted_at IS NULL
  LEFT JOIN orgs o ON o.id = r.org_id AND o.deleted_at IS NULL
 WHERE r.name = :name::citext AND r.released_at IS NULL AND (u.id IS NOT NULL OR o.id IS NOT NULL)

-- name: retired_names_by_name
-- Names still retired (not released), in name order, after the cursor's name.
SELECT r.name::text, coalesce(u.username, o.name)::text AS former_owner,
       CASE WHEN r.user_id IS NOT NULL THEN 'user' WHEN r.org_id IS NOT NULL THEN 'org' END AS owner_kind,
       r.retired_at, r.released_at
  FROM retired_names r
  LEFT JOIN users u ON u.id = r.user_id AND u.deleted_at IS NULL
  LEFT JOIN orgs o ON o.id = r.org_id AND o.deleted_at IS NULL
 WHERE r.released_at IS NULL AND (:after::text IS NULL OR lower(r.name::text) > lower(:after::text))
 ORDER BY lower(r.name::text)
 LIMIT :limit

-- name: release_retired_name
-- A site admin's release: the name may be taken again (its published versions stay taken).
UPDATE retired_names SET released_at = now(), released_by_user_id = :by_user_id
 WHERE name = :name::citext AND released_at IS NULL
