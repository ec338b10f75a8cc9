-- name: create_extension
-- None when the publisher already has a live extension by that name.
INSERT INTO registry_extensions (uuid, publisher_user_id, publisher_org_id, name)
VALUES (:uuid, :publisher_user_id, :publisher_org_id, :name)
ON CONFLICT ((COALESCE(publisher_user_id, 0)), (COALESCE(publisher_org_id, 0)), name)
  WHERE deleted_at IS NULL DO NOTHING
RETURNING id

-- name: extension_by_pk
-- Extensions of deleted publishers are hidden with them, here and in every read below.
SELECT e.id, e.uuid, coalesce(u.username, o.name)::text AS publisher, e.publisher_user_id, e.publisher_org_id,
       e.name::text, e.title, e.description, e.categories, e.tags, e.wip, e.manifest, e.created_at,
       e.updated_at, e.published_at, e.downloads, e.latest_release_id,
       r.release_version::text AS latest_version, r.created_at AS latest_created_at
  FROM registry_extensions e
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id
 WHERE e.id = :extension_pk
   AND e.deleted_at IS NULL AND u.deleted_at IS NULL AND o.deleted_at IS NULL

-- name: extension_by_name
-- Publisher and name both case-insensitive.
SELECT e.id, e.uuid, coalesce(u.username, o.name)::text AS publisher, e.publisher_user_id, e.publisher_org_id,
       e.name::text, e.title, e.description, e.categories, e.tags, e.wip, e.manifest, e.created_at,
       e.updated_at, e.published_at, e.downloads, e.latest_release_id,
       r.release_version::text AS latest_version, r.created_at AS latest_created_at
  FROM registry_extensions e
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id
 WHERE coalesce(u.username, o.name) = :publisher::citext AND e.name = :name::citext
   AND e.deleted_at IS NULL AND u.deleted_at IS NULL AND o.deleted_at IS NULL

-- name: extension_by_name_for_update
-- As extension_by_name, the row locked until the transaction ends: publishes of one extension
-- serialise their listing update.
SELECT e.id, e.uuid, coalesce(u.username, o.name)::text AS publisher, e.publisher_user_id, e.publisher_org_id,
       e.name::text, e.title, e.description, e.categories, e.tags, e.wip, e.manifest, e.created_at,
       e.updated_at, e.published_at, e.downloads, e.latest_release_id,
       r.release_version::text AS latest_version, r.created_at AS latest_created_at
  FROM registry_extensions e
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id
 WHERE coalesce(u.username, o.name) = :publisher::citext AND e.name = :name::citext
   AND e.deleted_at IS NULL AND u.deleted_at IS NULL AND o.deleted_at IS NULL
   FOR UPDATE OF e

-- name: extension_by_uuid
SELECT e.id, e.uuid, coalesce(u.username, o.name)::text AS publisher, e.publisher_user_id, e.publisher_org_id,
       e.name::text, e.title, e.description, e.categories, e.tags, e.wip, e.manifest, e.created_at,
       e.updated_at, e.published_at, e.downloads, e.latest_release_id,
       r.release_version::text AS latest_version, r.created_at AS latest_created_at
  FROM registry_extensions e
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id
 WHERE e.uuid = :uuid
   AND e.deleted_at IS NULL AND u.deleted_at IS NULL AND o.deleted_at IS NULL

-- name: extensions_by_names
-- Many live extensions in one query (the batch read): parallel arrays of publishers and names.
SELECT e.id, e.uuid, coalesce(u.username, o.name)::text AS publisher, e.publisher_user_id, e.publisher_org_id,
       e.name::text, e.title, e.description, e.categories, e.tags, e.wip, e.manifest, e.created_at,
       e.updated_at, e.published_at, e.downloads, e.latest_release_id,
       r.release_version::text AS latest_version, r.created_at AS latest_created_at
  FROM registry_extensions e
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id
  JOIN unnest(:publishers::text[], :names::text[]) AS wanted(publisher, name)
    ON coalesce(u.username, o.name) = wanted.publisher::citext AND e.name = wanted.name::citext
 WHERE e.deleted_at IS NULL AND u.deleted_at IS NULL AND o.deleted_at IS NULL

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
SELECT lower(e.name::text) AS sort_key,
       e.id, e.uuid, coalesce(u.username, o.name)::text AS publisher, e.publisher_user_id, e.publisher_org_id,
       e.name::text, e.title, e.description, e.categories, e.tags, e.wip, e.manifest, e.created_at,
       e.updated_at, e.published_at, e.downloads, e.latest_release_id,
       r.release_version::text AS latest_version, r.created_at AS latest_created_at
  FROM registry_extensions e
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id
 WHERE e.deleted_at IS NULL AND u.deleted_at IS NULL AND o.deleted_at IS NULL
   AND (:include_unpublished::boolean OR e.published_at IS NOT NULL)
   AND (:pattern::text IS NULL OR e.search_text LIKE :pattern)
   AND (:publisher::text IS NULL OR coalesce(u.username, o.name) = :publisher::citext)
   AND (:category::text IS NULL OR e.categories @> ARRAY[:category::text])
   AND (:tag::text IS NULL OR e.tags @> ARRAY[:tag::text])
   AND (:include_wip::boolean OR NOT e.wip)
   AND (:after_id::int IS NULL OR (lower(e.name::text), e.id) > (:after_key::text, :after_id::int))
 ORDER BY lower(e.name::text), e.id
 LIMIT :limit

-- name: list_by_updated
-- Most recently updated first.
SELECT e.updated_at AS sort_key,
       e.id, e.uuid, coalesce(u.username, o.name)::text AS publisher, e.publisher_user_id, e.publisher_org_id,
       e.name::text, e.title, e.description, e.categories, e.tags, e.wip, e.manifest, e.created_at,
       e.updated_at, e.published_at, e.downloads, e.latest_release_id,
       r.release_version::text AS latest_version, r.created_at AS latest_created_at
  FROM registry_extensions e
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id
 WHERE e.deleted_at IS NULL AND u.deleted_at IS NULL AND o.deleted_at IS NULL
   AND (:include_unpublished::boolean OR e.published_at IS NOT NULL)
   AND (:pattern::text IS NULL OR e.search_text LIKE :pattern)
   AND (:publisher::text IS NULL OR coalesce(u.username, o.name) = :publisher::citext)
   AND (:category::text IS NULL OR e.categories @> ARRAY[:category::text])
   AND (:tag::text IS NULL OR e.tags @> ARRAY[:tag::text])
   AND (:include_wip::boolean OR NOT e.wip)
   AND (:after_id::int IS NULL OR (e.updated_at, e.id) < (:after_key::timestamptz, :after_id::int))
 ORDER BY e.updated_at DESC, e.id DESC
 LIMIT :limit

-- name: list_by_downloads
-- Most downloaded first.
SELECT e.downloads AS sort_key,
       e.id, e.uuid, coalesce(u.username, o.name)::text AS publisher, e.publisher_user_id, e.publisher_org_id,
       e.name::text, e.title, e.description, e.categories, e.tags, e.wip, e.manifest, e.created_at,
       e.updated_at, e.published_at, e.downloads, e.latest_release_id,
       r.release_version::text AS latest_version, r.created_at AS latest_created_at
  FROM registry_extensions e
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id
 WHERE e.deleted_at IS NULL AND u.deleted_at IS NULL AND o.deleted_at IS NULL
   AND (:include_unpublished::boolean OR e.published_at IS NOT NULL)
   AND (:pattern::text IS NULL OR e.search_text LIKE :pattern)
   AND (:publisher::text IS NULL OR coalesce(u.username, o.name) = :publisher::citext)
   AND (:category::text IS NULL OR e.categories @> ARRAY[:category::text])
   AND (:tag::text IS NULL OR e.tags @> ARRAY[:tag::text])
   AND (:include_wip::boolean OR NOT e.wip)
   AND (:after_id::int IS NULL OR (e.downloads, e.id) < (:after_key::bigint, :after_id::int))
 ORDER BY e.downloads DESC, e.id DESC
 LIMIT :limit

-- name: list_by_relevance
-- Most similar to the search text (:query, lowercased) first: pg_trgm's similarity.
SELECT similarity(e.search_text, :query::text) AS sort_key,
       e.id, e.uuid, coalesce(u.username, o.name)::text AS publisher, e.publisher_user_id, e.publisher_org_id,
       e.name::text, e.title, e.description, e.categories, e.tags, e.wip, e.manifest, e.created_at,
       e.updated_at, e.published_at, e.downloads, e.latest_release_id,
       r.release_version::text AS latest_version, r.created_at AS latest_created_at
  FROM registry_extensions e
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id
 WHERE e.deleted_at IS NULL AND u.deleted_at IS NULL AND o.deleted_at IS NULL
   AND (:include_unpublished::boolean OR e.published_at IS NOT NULL)
   AND (:pattern::text IS NULL OR e.search_text LIKE :pattern)
   AND (:publisher::text IS NULL OR coalesce(u.username, o.name) = :publisher::citext)
   AND (:category::text IS NULL OR e.categories @> ARRAY[:category::text])
   AND (:tag::text IS NULL OR e.tags @> ARRAY[:tag::text])
   AND (:include_wip::boolean OR NOT e.wip)
   AND (:after_id::int IS NULL OR (similarity(e.search_text, :query::text) < :after_key::real
        OR similarity(e.search_text, :query::text) = :after_key::real AND e.id > :after_id::int))
 ORDER BY similarity(e.search_text, :query::text) DESC, e.id
 LIMIT :limit
