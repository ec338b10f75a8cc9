-- Migration 2: what the extension registry needs beyond the seed. The seed's columns, indexes
-- and constraints stay exactly as they are; this only adds.

-- Each release's fingerprints, computed once at publish, so that ETags, SRI integrity and the
-- idempotent re-publish check never need the bundle itself. bundle_* describe the bundle as
-- served (its sourceMappingURL pointing at this release's map); content_sha256 fingerprints what
-- was submitted (manifest, bundle, source map), to recognise an identical re-publish.
ALTER TABLE registry_extension_releases
    ADD COLUMN bundle_sha256 bytea,
    ADD COLUMN bundle_size bigint,
    ADD COLUMN bundle_integrity text,
    ADD COLUMN source_map_sha256 bytea,
    ADD COLUMN source_map_size bigint,
    ADD COLUMN content_sha256 bytea;

-- The listing's view of each extension, kept in step with its latest `release`-tag release at
-- every publish and yank, so that listing and search never parse manifests.
ALTER TABLE registry_extensions
    ADD COLUMN title text,
    ADD COLUMN description text,
    ADD COLUMN categories text[] NOT NULL DEFAULT '{}',
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}',
    ADD COLUMN wip boolean NOT NULL DEFAULT false,
    ADD COLUMN search_text text NOT NULL DEFAULT '',
    ADD COLUMN published_at timestamp with time zone,
    ADD COLUMN downloads bigint NOT NULL DEFAULT 0;

CREATE INDEX registry_extensions_search_trgm ON registry_extensions
    USING gin (search_text gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX registry_extensions_categories ON registry_extensions USING gin (categories) WHERE deleted_at IS NULL;
CREATE INDEX registry_extensions_tags ON registry_extensions USING gin (tags) WHERE deleted_at IS NULL;
CREATE INDEX registry_extensions_by_name ON registry_extensions (lower(name::text), id) WHERE deleted_at IS NULL;
CREATE INDEX registry_extensions_by_updated ON registry_extensions (updated_at DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX registry_extensions_by_downloads ON registry_extensions (downloads DESC, id) WHERE deleted_at IS NULL;

-- Bundle fetches per release per day, counted in memory and flushed in batches.
CREATE TABLE registry_extension_downloads (
    release_id bigint NOT NULL,
    day date NOT NULL,
    count bigint NOT NULL,
    CONSTRAINT registry_extension_downloads_pkey PRIMARY KEY (release_id, day),
    CONSTRAINT registry_extension_downloads_release_id_fkey
        FOREIGN KEY (release_id) REFERENCES registry_extension_releases(id) ON DELETE CASCADE,
    CONSTRAINT registry_extension_downloads_count_positive CHECK (count > 0)
);

-- The release the listing shows (the latest of the `release` tag), kept with the fields above.
ALTER TABLE registry_extensions ADD COLUMN latest_release_id bigint
    CONSTRAINT registry_extensions_latest_release_id_fkey
    REFERENCES registry_extension_releases(id) ON DELETE SET NULL;
