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
