-- name: add_downloads
-- A batch of (release, day, count) as parallel arrays, added to the daily rows and to each
-- extension's running total in one statement. Releases deleted meanwhile are skipped.
WITH batch AS (
  SELECT b.release_id, b.day, b.n, r.registry_extension_id AS extension_id
    FROM unnest(:release_ids::bigint[], :days::date[], :counts::bigint[]) AS b(release_id, day, n)
    JOIN registry_extension_releases r ON r.id = b.release_id
), daily AS (
  INSERT INTO registry_extension_downloads AS d (release_id, day, count)
  SELECT release_id, day, n FROM batch
  ON CONFLICT (release_id, day) DO UPDATE SET count = d.count + EXCLUDED.count
)
UPDATE registry_extensions e SET downloads = e.downloads + t.n
  FROM (SELECT extension_id, sum(n) AS n FROM batch GROUP BY extension_id) t
 WHERE e.id = t.extension_id

-- name: daily_downloads
-- An extension's downloads per day (all its releases together) since a day.
SELECT d.day, sum(d.count)::bigint AS count
  FROM registry_extension_downloads d
  JOIN registry_extension_releases r ON r.id = d.release_id
 WHERE r.registry_extension_id = :extension_pk AND d.day >= :since
 GROUP BY d.day
 ORDER BY d.day

-- name: first_downloads
-- Of the (release, client) pairs one node saw since its last flush, those whose client's previous
-- counted download of the release, on any node, is older than the window (or that never counted):
-- they count, and now becomes their time. The upsert's row lock makes two nodes flushing one pair
-- at once count it once (the second sees the first's time); pairs are locked in key order, so two
-- nodes' flushes do not deadlock on them.
INSERT INTO download_clients AS c (release_id, client, counted_at)
SELECT p.release_id, p.client, now()
  FROM unnest(:release_ids::bigint[], :clients::text[]) AS p(release_id, client)
 ORDER BY p.release_id, p.client
ON CONFLICT ON CONSTRAINT download_clients_pkey DO UPDATE SET counted_at = EXCLUDED.counted_at
 WHERE c.counted_at <= EXCLUDED.counted_at - :window_seconds * interval '1 second'
RETURNING c.release_id, c.client

-- name: prune_download_clients
-- Forget up to :max_pairs pairs whose window has passed (they would count again anyway), oldest
-- first, skipping any another flush holds.
DELETE FROM download_clients d
 USING (SELECT release_id, client FROM download_clients
         WHERE counted_at <= now() - :window_seconds * interval '1 second'
         ORDER BY counted_at
         LIMIT :max_pairs
           FOR UPDATE SKIP LOCKED) old
 WHERE (d.release_id, d.client) = (old.release_id, old.client)
