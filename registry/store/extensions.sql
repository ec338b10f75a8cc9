-- name: create_extension
-- None when the publisher already has a live extension by that name.
INSERT INTO registry_extensions (uuid, publisher_user_id, publisher_org_id, name)
VALUES (:uuid, :publisher_user_id, :publisher_org_id, :name)
ON CONFLICT ((COALESCE(publisher_user_id, 0)), (COALESCE(publisher_org_id, 0)), name)
  WHERE deleted_at IS NULL DO NOTHING
RETURNING id

-- name: extension_by_pk
-- Extensions of deleted publishers are hidden with them, here and in every read below (live_extensions).
SELECT * FROM live_extensions WHERE id = :extension_pk

-- name: extension_by_name
-- Publisher and name both case-insensitive.
SELECT * FROM live_extensions WHERE publisher::citext = :publisher::citext AND name::citext = :name::citext

-- name: lock_extension_by_name
-- The id of a live extension by name, its row locked until the transaction ends: publishes of one
-- extension serialise their listing update. FOR UPDATE cannot reach through live_extensions' outer
-- joins, so the view finds the row and the table's row is locked (and rechecked, should it wait);
-- the id found first (one at most: names are unique per publisher), then the row by its key.
SELECT e.id FROM registry_extensions e
 WHERE e.id = (SELECT l.id FROM live_extensions l
                WHERE l.publisher::citext = :publisher::citext AND l.name::citext = :name::citext LIMIT 1)
   AND e.deleted_at IS NULL
   FOR UPDATE

-- name: extension_by_uuid
SELECT * FROM live_extensions WHERE uuid = :uuid

-- name: extensions_by_names
-- Many live extensions in one query (the batch read): parallel arrays of publishers and names.
SELECT e.*
  FROM live_extensions e
  JOIN unnest(:publishers::text[], :names::text[]) AS wanted(publisher, name)
    ON e.publisher::citext = wanted.publisher::citext AND e.name::citext = wanted.name::citext

-- name: soft_delete_extension
UPDATE registry_extensions SET deleted_at = now(), updated_at = now()
 WHERE id = :extension_pk AND deleted_at IS NULL

-- name: update_listing
UPDATE registry_extensions
   SET latest_release_id = :latest_release_id, manifest = :manifest, title = :title, description = :description,
       categories = :categories, tags = :tags, wip = :wip, published_at = :published_at,
       search_text = :search_text, updated_at = now()
 WHERE id = :extension_pk

-- name: list_by_name
-- Alphabetical (case-insensitively), then by id.
SELECT lower(e.name) AS sort_key, e.*
  FROM listed_extensions(:include_unpublished, :pattern, :publisher, :category, :tag, :include_wip) e
 WHERE :after_id::int IS NULL OR (lower(e.name), e.id) > (:after_key::text, :after_id::int)
 ORDER BY lower(e.name), e.id
 LIMIT :limit

-- name: list_by_updated
-- Most recently updated first.
SELECT e.updated_at AS sort_key, e.*
  FROM listed_extensions(:include_unpublished, :pattern, :publisher, :category, :tag, :include_wip) e
 WHERE :after_id::int IS NULL OR (e.updated_at, e.id) < (:after_key::timestamptz, :after_id::int)
 ORDER BY e.updated_at DESC, e.id DESC
 LIMIT :limit

-- name: list_by_downloads
-- Most downloaded first.
SELECT e.downloads AS sort_key, e.*
  FROM listed_extensions(:include_unpublished, :pattern, :publisher, :category, :tag, :include_wip) e
 WHERE :after_id::int IS NULL OR (e.downloads, e.id) < (:after_key::bigint, :after_id::int)
 ORDER BY e.downloads DESC, e.id DESC
 LIMIT :limit

-- name: list_by_relevance
-- Most similar to the search text (:query, lowercased) first: pg_trgm's similarity.
SELECT similarity(e.search_text, :query::text) AS sort_key, e.*
  FROM listed_extensions(:include_unpublished, :pattern, :publisher, :category, :tag, :include_wip) e
 WHERE :after_id::int IS NULL OR (similarity(e.search_text, :query::text) < :after_key::real
       OR similarity(e.search_text, :query::text) = :after_key::real AND e.id > :after_id::int)
 ORDER BY similarity(e.search_text, :query::text) DESC, e.id
 LIMIT :limit
