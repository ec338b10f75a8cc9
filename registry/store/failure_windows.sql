-- name: count_attempts
-- One attempt against each (throttle, key), counted only where the key has fewer than max_count
-- stamps within its window: one statement for all of a request's budgets. The upsert's row lock
-- serialises concurrent attempts on one key (on any node), and its WHERE reads the row as the
-- lock holder committed it, so exactly max_count attempts in a window are counted. Stamps past
-- the window are dropped as the row is written. A refused key gets its Retry-After from the oldest
-- stamp in its window, as this statement's snapshot shows it (the window's length when the row is
-- not in the snapshot yet). Each statement also deletes up to two keys whose window has passed per
-- key it charges (none of its own, none locked): expired rows shrink while attempts are made.
WITH now AS MATERIALIZED (
  SELECT clock_timestamp() AS t
), charge AS MATERIALIZED (
  SELECT c.position, c.throttle, c.key, c.max_count, c.seconds * interval '1 second' AS span
    FROM unnest(:throttles::text[], :keys::text[], :max_counts::int[], :seconds::float8[])
         WITH ORDINALITY AS c(throttle, key, max_count, seconds, position)
), counted AS (
  INSERT INTO failure_windows AS w (throttle, key, stamps, max_count, span, expires_at)
  SELECT c.throttle, c.key, ARRAY[now.t], c.max_count, c.span, now.t + c.span
    FROM charge c, now
   ORDER BY c.throttle, c.key
  ON CONFLICT ON CONSTRAINT failure_windows_pkey DO UPDATE
     SET stamps = ARRAY(SELECT s FROM unnest(w.stamps) s WHERE s > EXCLUDED.stamps[1] - EXCLUDED.span ORDER BY s)
                  || EXCLUDED.stamps,
         max_count = EXCLUDED.max_count,
         span = EXCLUDED.span,
         expires_at = EXCLUDED.expires_at
   WHERE (SELECT count(*) FROM unnest(w.stamps) s WHERE s > EXCLUDED.stamps[1] - EXCLUDED.span) < EXCLUDED.max_count
  RETURNING w.throttle, w.key, w.stamps[cardinality(w.stamps)] AS stamp
), expired AS (
  SELECT e.throttle, e.key FROM failure_windows e
   WHERE e.expires_at < now()  -- the statement's start (stable, so the index on expires_at serves)
     AND (e.throttle, e.key) NOT IN (SELECT c.throttle, c.key FROM charge c)
   ORDER BY e.expires_at
   LIMIT 2 * cardinality(:keys::text[]) FOR UPDATE SKIP LOCKED
), pruned AS (
  DELETE FROM failure_windows w USING expired e WHERE (w.throttle, w.key) = (e.throttle, e.key)
)
SELECT c.position::int AS position, k.stamp,
       CASE WHEN k.stamp IS NULL THEN greatest(1, ceil(extract(epoch FROM coalesce(
         (SELECT min(s) FROM failure_windows w, unnest(w.stamps) s
           WHERE (w.throttle, w.key) = (c.throttle, c.key) AND s > now.t - c.span),
         now.t) + c.span - now.t)))::int
       END AS retry_after
  FROM charge c CROSS JOIN now LEFT JOIN counted k ON (k.throttle, k.key) = (c.throttle, c.key)
 ORDER BY c.position

-- name: forgive_attempts
-- Take back attempts counted by count_attempts (their credentials were right after all): each
-- stamp is removed once from its key (two attempts stamped alike stay two); one pruned with its
-- window meanwhile is simply gone. (The spaces around the slices' colons keep them from reading
-- as parameters.)
UPDATE failure_windows w
   SET stamps = w.stamps[1 : array_position(w.stamps, f.stamp) - 1] || w.stamps[array_position(w.stamps, f.stamp) + 1 :]
  FROM unnest(:throttles::text[], :keys::text[], :stamps::timestamptz[]) AS f(throttle, key, stamp)
 WHERE (w.throttle, w.key) = (f.throttle, f.key) AND f.stamp = ANY(w.stamps)
