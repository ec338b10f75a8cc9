-- name: try_lock
SELECT pg_try_advisory_lock(:key)

-- name: lock
SELECT pg_advisory_lock(:key)

-- name: unlock
SELECT pg_advisory_unlock(:key)

-- name: ensure_table
-- golang-migrate's own definition of its bookkeeping table.
CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)

-- name: read_version
SELECT version, dirty FROM schema_migrations ORDER BY version DESC LIMIT 1

-- name: clear_version
TRUNCATE schema_migrations

-- name: set_version
INSERT INTO schema_migrations (version, dirty) VALUES (:version, :dirty)
