-- name: next_release_id
-- The id of a release about to be inserted: its bundle names its own source map's URL; and the id
-- of the extension's release of that version, when there is one (yanked too), which the insert
-- would meet. One round trip: an id spent on a version that turns out to exist is only a gap.
SELECT nextval('registry_extension_releases_id_seq') AS release_id,
       (SELECT r.id FROM registry_extension_releases r
         WHERE r.registry_extension_id = :extension_pk AND r.release_version = :version::citext) AS published_id

-- name: insert_release
-- A used version, even a yanked one, violates registry_extension_releases_version.
INSERT INTO registry_extension_releases (
    id, registry_extension_id, creator_user_id, release_version, release_tag, manifest, content_sha256,
    bundle, bundle_sha256, bundle_size, bundle_integrity, source_map, source_map_sha256, source_map_size
) VALUES (
    :release_id, :extension_pk, :creator_user_id, :version, :tag, :manifest, :content_sha256,
    :bundle, :bundle_sha256, :bundle_size, :bundle_integrity, :source_map, :source_map_sha256, :source_map_size
)

-- name: releases_of
-- Metadata of an extension's releases (of one tag, if given); never bundles.
SELECT * FROM release_metadata
 WHERE registry_extension_id = :extension_pk
   AND (:tag::text IS NULL OR tag::citext = :tag::citext)
   AND (:include_yanked::boolean OR deleted_at IS NULL)

-- name: live_releases_by_ids
-- Live releases of one extension by id (a publish's new release and the one its listing names).
SELECT * FROM release_metadata
 WHERE registry_extension_id = :extension_pk AND id = ANY(:release_ids::bigint[]) AND deleted_at IS NULL

-- name: release_by_version
SELECT * FROM release_metadata
 WHERE registry_extension_id = :extension_pk AND version::citext = :version::citext
   AND (:include_yanked::boolean OR deleted_at IS NULL)

-- name: release_by_id
-- A live release of a live extension of a live publisher: what every asset route may serve (the
-- by-name routes reach releases through live extensions of live publishers only).
SELECT r.* FROM release_metadata r JOIN live_extensions e ON e.id = r.registry_extension_id
 WHERE r.id = :release_id AND r.deleted_at IS NULL

-- name: bundle_of
-- The one read of the big column.
SELECT bundle FROM registry_extension_releases WHERE id = :release_id

-- name: source_map_of
SELECT source_map FROM registry_extension_releases WHERE id = :release_id

-- name: yank_release
UPDATE registry_extension_releases SET deleted_at = now() WHERE id = :release_id AND deleted_at IS NULL
