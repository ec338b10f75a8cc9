-- name: current_version_global
-- A subject's current settings are its newest row. One statement per kind of subject, so that an
-- index on (org_id, id) or (user_id, id) serves each.
SELECT s.id, s.contents, a.username::text AS author, s.created_at
  FROM settings s LEFT JOIN users a ON a.id = s.author_user_id
 WHERE s.org_id IS NULL AND s.user_id IS NULL
 ORDER BY s.id DESC LIMIT 1

-- name: current_version_org
SELECT s.id, s.contents, a.username::text AS author, s.created_at
  FROM settings s LEFT JOIN users a ON a.id = s.author_user_id
 WHERE s.org_id = :org_id::int AND s.user_id IS NULL
 ORDER BY s.id DESC LIMIT 1

-- name: current_version_user
SELECT s.id, s.contents, a.username::text AS author, s.created_at
  FROM settings s LEFT JOIN users a ON a.id = s.author_user_id
 WHERE s.user_id = :user_id::int AND s.org_id IS NULL
 ORDER BY s.id DESC LIMIT 1

-- name: history_global
-- A subject's versions, newest first, older than :before_id when given.
SELECT s.id, s.contents, a.username::text AS author, s.created_at
  FROM settings s LEFT JOIN users a ON a.id = s.author_user_id
 WHERE s.org_id IS NULL AND s.user_id IS NULL
   AND (:before_id::int IS NULL OR s.id < :before_id::int)
 ORDER BY s.id DESC LIMIT :limit

-- name: history_org
SELECT s.id, s.contents, a.username::text AS author, s.created_at
  FROM settings s LEFT JOIN users a ON a.id = s.author_user_id
 WHERE s.org_id = :org_id::int AND s.user_id IS NULL
   AND (:before_id::int IS NULL OR s.id < :before_id::int)
 ORDER BY s.id DESC LIMIT :limit

-- name: history_user
SELECT s.id, s.contents, a.username::text AS author, s.created_at
  FROM settings s LEFT JOIN users a ON a.id = s.author_user_id
 WHERE s.user_id = :user_id::int AND s.org_id IS NULL
   AND (:before_id::int IS NULL OR s.id < :before_id::int)
 ORDER BY s.id DESC LIMIT :limit

-- name: lock_subject
-- Serialises the writers of one subject until the transaction ends.
SELECT pg_advisory_xact_lock(hashtext(:lock_key))

-- name: insert_version_global
-- Written only while the subject's newest id is :last_id (NULL: it has no rows yet).
INSERT INTO settings (org_id, user_id, contents, author_user_id, parsed)
SELECT NULL, NULL, :contents::text, :author_user_id::int, :parsed::text
 WHERE (SELECT max(s.id) FROM settings s WHERE s.org_id IS NULL AND s.user_id IS NULL)
       IS NOT DISTINCT FROM :last_id::int
RETURNING id, contents, (SELECT a.username::text FROM users a WHERE a.id = author_user_id) AS author, created_at

-- name: insert_version_org
INSERT INTO settings (org_id, user_id, contents, author_user_id, parsed)
SELECT :org_id::int, NULL, :contents::text, :author_user_id::int, :parsed::text
 WHERE (SELECT max(s.id) FROM settings s WHERE s.org_id = :org_id::int AND s.user_id IS NULL)
       IS NOT DISTINCT FROM :last_id::int
RETURNING id, contents, (SELECT a.username::text FROM users a WHERE a.id = author_user_id) AS author, created_at

-- name: insert_version_user
INSERT INTO settings (org_id, user_id, contents, author_user_id, parsed)
SELECT NULL, :user_id::int, :contents::text, :author_user_id::int, :parsed::text
 WHERE (SELECT max(s.id) FROM settings s WHERE s.user_id = :user_id::int AND s.org_id IS NULL)
       IS NOT DISTINCT FROM :last_id::int
RETURNING id, contents, (SELECT a.username::text FROM users a WHERE a.id = author_user_id) AS author, created_at

-- name: keep_parsed
-- The parsed form of a version written around the API, kept at its first use.
UPDATE settings SET parsed = :parsed WHERE id = :version_id AND parsed IS NULL

-- name: cascade
-- A user's cascade in merge order: global, each live org of the user (by name), the user; each
-- with its current version. The texts are read only when all the levels' sizes add up to
-- :max_bytes at most; the sizes come from the row headers, not the values.
WITH subjects AS (
  SELECT 0 AS level, 'global' AS kind, NULL::text AS name, NULL::int AS org_id, NULL::int AS user_id
  UNION ALL
  SELECT 1, 'org', o.name::text, o.id, NULL FROM org_members m
    JOIN orgs o ON o.id = m.org_id AND o.deleted_at IS NULL WHERE m.user_id = :user_id
  UNION ALL
  SELECT 2, 'user', u.username::text, NULL, u.id FROM users u WHERE u.id = :user_id
), levels AS (
  SELECT sub.level, sub.kind, sub.name, cur.id, coalesce(cur.bytes, 0) AS bytes, cur.contents, cur.parsed
    FROM subjects sub
    LEFT JOIN LATERAL (
      SELECT s.id, octet_length(coalesce(s.parsed, s.contents)) AS bytes, s.contents, s.parsed FROM settings s
       WHERE s.org_id IS NOT DISTINCT FROM sub.org_id AND s.user_id IS NOT DISTINCT FROM sub.user_id
       ORDER BY s.id DESC LIMIT 1
    ) cur ON true
)
SELECT kind, name, id, bytes,
       CASE WHEN sum(bytes) OVER () <= :max_bytes AND parsed IS NULL THEN contents END AS contents,
       CASE WHEN sum(bytes) OVER () <= :max_bytes THEN parsed END AS parsed
  FROM levels ORDER BY level, lower(name), name

-- name: largest_cascade_bytes
-- The largest cascade (bytes of parsed settings) of the users whose cascade holds the subject,
-- were the subject's current settings :new_bytes long. Each level's size comes from the row
-- header (no value is read), through the per-subject indexes.
WITH affected AS (
  SELECT u.id FROM users u WHERE u.deleted_at IS NULL AND (:kind::text = 'global'
    OR (:kind = 'user' AND u.id = :user_id::int)
    OR (:kind = 'org' AND u.id IN (SELECT m.user_id FROM org_members m WHERE m.org_id = :org_id::int)))
), totals AS (
  SELECT CASE WHEN :kind = 'user' THEN :new_bytes::bigint ELSE coalesce((
      SELECT octet_length(coalesce(s.parsed, s.contents)) FROM settings s
       WHERE s.user_id = a.id AND s.org_id IS NULL ORDER BY s.id DESC LIMIT 1), 0) END
    + coalesce((
      SELECT sum(CASE WHEN o.id = :org_id::int THEN :new_bytes::bigint ELSE coalesce((
          SELECT octet_length(coalesce(s.parsed, s.contents)) FROM settings s
           WHERE s.org_id = o.id AND s.user_id IS NULL ORDER BY s.id DESC LIMIT 1), 0) END)
        FROM org_members m JOIN orgs o ON o.id = m.org_id AND o.deleted_at IS NULL WHERE m.user_id = a.id
    ), 0) AS total
  FROM affected a
)
SELECT CASE WHEN :kind = 'global' THEN :new_bytes::bigint ELSE coalesce((
     SELECT octet_length(coalesce(s.parsed, s.contents)) FROM settings s
      WHERE s.org_id IS NULL AND s.user_id IS NULL ORDER BY s.id DESC LIMIT 1), 0) END
   + coalesce((SELECT max(total) FROM totals), 0)

-- name: enabled_extensions
-- The live extensions among the (publisher, name) pairs, case-insensitively, each with its
-- latest live release, in one query.
SELECT DISTINCT ON (e.id) coalesce(u.username, o.name)::text || '/' || e.name::text AS extension_id,
       e.uuid::text AS uuid, r.id AS release_id, r.release_version::text AS version,
       r.created_at AS released_at
  FROM unnest(:publishers::text[], :names::text[]) AS wanted(publisher, name)
  JOIN registry_extensions e ON e.name = wanted.name::citext AND e.deleted_at IS NULL
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id AND r.deleted_at IS NULL
 WHERE coalesce(u.username, o.name) = wanted.publisher::citext
   AND u.deleted_at IS NULL AND o.deleted_at IS NULL
 ORDER BY e.id
