-- name: live_entry
SELECT cache_key AS key, b64data, created_at, updated_at
  FROM cert_cache
 WHERE cache_key = :key AND deleted_at IS NULL

-- name: put_entry
-- Insert or replace; a soft-deleted key comes back to life with the new data (and a new created_at).
INSERT INTO cert_cache (cache_key, b64data) VALUES (:key, :b64data)
    ON CONFLICT (cache_key) DO UPDATE
   SET b64data = EXCLUDED.b64data, updated_at = now(), deleted_at = NULL,
       created_at = CASE WHEN cert_cache.deleted_at IS NULL THEN cert_cache.created_at ELSE now() END
RETURNING cache_key AS key, b64data, created_at, updated_at

-- name: delete_entry
UPDATE cert_cache SET deleted_at = now(), updated_at = now() WHERE cache_key = :key AND deleted_at IS NULL

-- name: keys_in_order
-- Without their data, and never those under the hidden prefix.
SELECT cache_key AS key, '' AS b64data, created_at, updated_at
  FROM cert_cache
 WHERE deleted_at IS NULL
   AND (:after::text IS NULL OR cache_key > :after)
   AND NOT starts_with(cache_key, :hidden_prefix)
 ORDER BY cache_key
 LIMIT :limit

-- name: insert_entry_if_absent
-- The first writer wins; a later one (or a deleted entry in the way) changes nothing.
INSERT INTO cert_cache (cache_key, b64data) VALUES (:key, :b64data) ON CONFLICT (cache_key) DO NOTHING

-- name: stored_data
-- Whatever is stored under the key, deleted or not.
SELECT b64data FROM cert_cache WHERE cache_key = :key
