-- Migration 11: bundles and source maps are stored without pglz. A release's bundle is text of up
-- to 10 MiB (its source map up to 30 MiB), written once and served from the asset caches, which
-- compress it themselves; pglz, PostgreSQL's default, spent 15-25 ms of server CPU compressing
-- each 1 MiB bundle at publish, over half of the whole publish (bench/README.md, bench_publish).
--
-- The columns keep the seed's type (text); only how PostgreSQL stores their values changes, and
-- only for values written from now on (rows already stored stay as they are, and read the same):
--   * lz4 (PostgreSQL 14+ built --with-lz4, as the distributions' packages are): compressed about as
--     well as pglz (a JavaScript bundle to ~1/4) at a fraction of its CPU, so less WAL and TOAST;
--   * else (a build without lz4, such as the embedded server) STORAGE EXTERNAL: out of line and
--     uncompressed, which every build supports; no compression CPU, at the cost of disk and WAL.
-- The choice is the server's, asked here, so that this migration succeeds on every build.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE registry_extension_releases
            ALTER COLUMN bundle SET COMPRESSION lz4,
            ALTER COLUMN source_map SET COMPRESSION lz4;
    ELSE
        ALTER TABLE registry_extension_releases
            ALTER COLUMN bundle SET STORAGE EXTERNAL,
            ALTER COLUMN source_map SET STORAGE EXTERNAL;
    END IF;
END
$$;
