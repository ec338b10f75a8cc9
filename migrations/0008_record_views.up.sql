-- Migration 8: one view per record shape that several stores' statements read, so that each
-- statement says only which rows it wants (`SELECT * FROM live_extensions WHERE id = …`) and the
-- joins, the soft-delete rules and the column list live in one place. A view's columns are its
-- record's fields (a few carry one more, to filter on); names come out as text (asyncpg decodes
-- text without looking the type up) and are compared as citext. Only adds.

-- A live extension (neither it nor its publisher deleted), its publisher's name and its latest
-- release; search_text is for the listings' filters.
CREATE VIEW live_extensions AS
SELECT e.id, e.uuid, coalesce(u.username, o.name)::text AS publisher, e.publisher_user_id, e.publisher_org_id,
       e.name::text AS name, e.title, e.description, e.categories, e.tags, e.wip, e.manifest, e.created_at,
       e.updated_at, e.published_at, e.downloads, e.latest_release_id,
       r.release_version::text AS latest_version, r.created_at AS latest_created_at, e.search_text
  FROM registry_extensions e
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id
 WHERE e.deleted_at IS NULL AND u.deleted_at IS NULL AND o.deleted_at IS NULL;

-- The live extensions a listing shows, whatever its order: published ones only unless
-- include_unpublished, wip ones only with include_wip; each other filter applies when not NULL.
-- A plain SQL function, STABLE and not STRICT, so the planner inlines it into each ordering's
-- statement and its ordering index still serves.
CREATE FUNCTION listed_extensions(
    include_unpublished boolean, pattern text, of_publisher text, in_category text, with_tag text,
    include_wip boolean
) RETURNS SETOF live_extensions LANGUAGE sql STABLE AS $$
SELECT * FROM live_extensions e
 WHERE (include_unpublished OR e.published_at IS NOT NULL)
   AND (pattern IS NULL OR e.search_text LIKE pattern)
   AND (of_publisher IS NULL OR e.publisher::citext = of_publisher::citext)
   AND (in_category IS NULL OR e.categories @> ARRAY[in_category])
   AND (with_tag IS NULL OR e.tags @> ARRAY[with_tag])
   AND (include_wip OR NOT e.wip)
$$;

-- A release's metadata (never its bundle or source map), yanked ones included, with its creator's
-- name and its downloads.
CREATE VIEW release_metadata AS
SELECT r.id, r.registry_extension_id, cu.username::text AS creator, r.release_version::text AS version,
       r.release_tag::text AS tag, r.manifest, r.created_at, r.deleted_at, r.bundle_sha256, r.bundle_size,
       r.bundle_integrity, r.source_map_sha256, r.source_map_size, r.content_sha256,
       r.bundle IS NOT NULL AS has_bundle, r.source_map IS NOT NULL AS has_source_map,
       coalesce((SELECT sum(d.count) FROM registry_extension_downloads d WHERE d.release_id = r.id), 0)::bigint
         AS downloads
  FROM registry_extension_releases r
  JOIN users cu ON cu.id = r.creator_user_id;

-- An invitation that is not deleted, to a live org and a live recipient, with the names it shows.
-- sender_may_invite: the sender is live and still a member of the org, or a site admin.
CREATE VIEW live_org_invitations AS
SELECT i.id, i.org_id, o.name::text AS org, s.username::text AS sender, r.username::text AS recipient,
       i.recipient_user_id, i.sender_user_id, i.created_at, i.notified_at, i.responded_at,
       i.response_type AS accepted, i.revoked_at,
       (s.deleted_at IS NULL AND (s.site_admin OR EXISTS (
           SELECT FROM org_members m WHERE m.org_id = i.org_id AND m.user_id = i.sender_user_id))) AS sender_may_invite
  FROM org_invitations i
  JOIN orgs o ON o.id = i.org_id AND o.deleted_at IS NULL
  JOIN users s ON s.id = i.sender_user_id
  JOIN users r ON r.id = i.recipient_user_id AND r.deleted_at IS NULL
 WHERE i.deleted_at IS NULL;

-- A thread that is not deleted, its author's name and its target (repo_id is for the filters).
CREATE VIEW live_discussion_threads AS
SELECT t.id, t.title, u.username::text AS author, t.author_user_id, t.created_at, t.updated_at, t.archived_at,
       tr.id AS target_id, tr.repo_id, r.uri::text AS repo, tr.path, tr.branch, tr.revision, tr.start_line,
       tr.end_line, tr.start_character, tr.end_character, tr.lines_before, tr.lines, tr.lines_after
  FROM discussion_threads t
  JOIN users u ON u.id = t.author_user_id
  LEFT JOIN discussion_threads_target_repo tr ON tr.id = t.target_repo_id
  LEFT JOIN repo r ON r.id = tr.repo_id
 WHERE t.deleted_at IS NULL;
