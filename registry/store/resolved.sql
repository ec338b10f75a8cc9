-- name: version_counts
-- Each version of a package that some lockfile resolved, with how many repositories and rows run
-- it: an index-only scan of `resolved_dep_dependents` (migration 16), already in (version,
-- repo_id) order, so the distinct count needs no sort. Cached by the service; the chart, the
-- totals and the range evaluation read it.
SELECT version, count(DISTINCT repo_id) AS repos, count(*) AS rows
  FROM resolved_dep WHERE language = :language AND package = :package::text
 GROUP BY version ORDER BY version

-- name: matched_totals
-- How many rows, and distinct repositories, run one of `versions` (with the page's filters).
SELECT count(*) AS rows, count(DISTINCT repo_id) AS repos
  FROM resolved_dep
 WHERE language = :language AND package = :package::text AND version = ANY(:versions::text[])
   AND (:direct::boolean IS NULL OR (depth = 1) = :direct::boolean)
   AND (:dev::boolean IS NULL OR dev = :dev::boolean)

-- name: dependents_page
-- A page of the rows running one of `versions`, keyset by (repo_id, row id). Each version's rows
-- come from `resolved_dep_dependents` in that order already, so each is read only up to the page's
-- limit (LATERAL … LIMIT), by an index-only scan (`depth`, which `direct` filters on, is INCLUDEd),
-- and the page is merged from those: the work is bounded by versions × (limit + 1) index entries
-- however many rows the package has. Only the page's rows are then read from the table, by its
-- whole primary key (the LATERAL … OFFSET 0 keeps the planner from looking them up by repo_id
-- alone, which it otherwise did, reading every row of each repository: 0.74 ms → 0.29 ms a page),
-- and joined to `repo`. bench/bench_resolved_reads.py measures it against the naive
-- `version = ANY(…) ORDER BY … LIMIT`, which reads and sorts every matching row.
SELECT p.repo_id, p.row_id, d.version, d.depth, d.dev, d.optional, d.lockfile, d.via, r.uri::text AS repo
  FROM (SELECT k.repo_id, k.id AS row_id
          FROM unnest(:versions::text[]) AS v(version)
         CROSS JOIN LATERAL (
               SELECT i.repo_id, i.id FROM resolved_dep i
                WHERE i.language = :language AND i.package = :package::text AND i.version = v.version
                  AND (i.repo_id, i.id) > (:after_repo::int, :after_id::bigint)
                  AND (:direct::boolean IS NULL OR (i.depth = 1) = :direct::boolean)
                ORDER BY i.repo_id, i.id LIMIT :limit) k
         ORDER BY k.repo_id, k.id LIMIT :limit) p
  CROSS JOIN LATERAL (SELECT * FROM resolved_dep x WHERE x.repo_id = p.repo_id AND x.id = p.row_id OFFSET 0) d
  JOIN repo r ON r.id = p.repo_id
 ORDER BY p.repo_id, p.row_id

-- name: dependents_page_by_dev
-- dependents_page with `dev` filtered too: `dev` is not in the index, so each version's rows are
-- read from the table while they are merged (bounded as above, but not index-only).
SELECT p.*, r.uri::text AS repo
  FROM (SELECT d.*
          FROM unnest(:versions::text[]) AS v(version)
         CROSS JOIN LATERAL (
               SELECT d.repo_id, d.id AS row_id, d.version, d.depth, d.dev, d.optional, d.lockfile, d.via
                 FROM resolved_dep d
                WHERE d.language = :language AND d.package = :package::text AND d.version = v.version
                  AND (d.repo_id, d.id) > (:after_repo::int, :after_id::bigint)
                  AND (:direct::boolean IS NULL OR (d.depth = 1) = :direct::boolean)
                  AND d.dev = :dev::boolean
                ORDER BY d.repo_id, d.id LIMIT :limit) d
         ORDER BY d.repo_id, d.row_id LIMIT :limit) p
  JOIN repo r ON r.id = p.repo_id
 ORDER BY p.repo_id, p.row_id

-- name: dependents_page_in_order
-- A page when the kept versions hold most of the package's rows: one ordered scan of
-- `resolved_dep_by_repo` (migration 17) that skips the rows of other versions and stops after
-- `limit` rows. Same columns and order as dependents_page. Measured against an index-only scan of
-- the keys followed by a lookup of the page's rows, this plain form did twice the pages per second
-- (bench/bench_resolved_reads.py: the skipped rows are few at ORDERED_SHARE and above).
SELECT d.repo_id, d.id AS row_id, d.version, d.depth, d.dev, d.optional, d.lockfile, d.via, r.uri::text AS repo
  FROM resolved_dep d JOIN repo r ON r.id = d.repo_id
 WHERE d.language = :language AND d.package = :package::text AND d.version = ANY(:versions::text[])
   AND (d.repo_id, d.id) > (:after_repo::int, :after_id::bigint)
   AND (:direct::boolean IS NULL OR (d.depth = 1) = :direct::boolean)
 ORDER BY d.repo_id, d.id LIMIT :limit
