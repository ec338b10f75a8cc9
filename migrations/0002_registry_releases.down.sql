DROP TABLE registry_extension_downloads;

DROP INDEX registry_extensions_by_downloads;
DROP INDEX registry_extensions_by_updated;
DROP INDEX registry_extensions_by_name;
DROP INDEX registry_extensions_tags;
DROP INDEX registry_extensions_categories;
DROP INDEX registry_extensions_search_trgm;

ALTER TABLE registry_extensions
    DROP COLUMN latest_release_id,
    DROP COLUMN downloads,
    DROP COLUMN published_at,
    DROP COLUMN search_text,
    DROP COLUMN wip,
    DROP COLUMN tags,
    DROP COLUMN categories,
    DROP COLUMN description,
    DROP COLUMN title;

ALTER TABLE registry_extension_releases
    DROP COLUMN content_sha256,
    DROP COLUMN source_map_size,
    DROP COLUMN source_map_sha256,
    DROP COLUMN bundle_integrity,
    DROP COLUMN bundle_size,
    DROP COLUMN bundle_sha256;
