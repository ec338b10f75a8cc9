-- name: dependents_by_gin
-- A page of a package with few dependents: `dep_data @> {"package": …}` is answered by the seed's
-- `global_dep_idxgin` (jsonb_path_ops), which collects all of them cheaply. Only the page's rows
-- are joined to `repo`. Same columns and keyset order as dependents_in_order.
SELECT p.*, r.uri::text AS repo
  FROM (SELECT g.repo_id, g.id AS row_id, g.declared AS declared_range,
               g.dep_data->>'depType' AS dep_type, g.hints->>'path' AS path
          FROM global_dep g
         WHERE g.dep_data @> jsonb_build_object('package', :package::text) AND g.language = :language
           AND (:declared_ranges::text[] IS NULL OR g.declared = ANY(:declared_ranges::text[]))
           AND (:after_repo::int IS NULL OR (g.repo_id, g.id) > (:after_repo::int, :after_id::bigint))
         ORDER BY g.repo_id, g.id LIMIT :limit) p
  JOIN repo r ON r.id = p.repo_id
 ORDER BY p.repo_id, p.row_id

-- name: dependents_in_order
-- A page of a popular package: the ordered `global_dep_dependents` btree stops after one page
-- instead of reading and sorting every match (migration 3 says why).
SELECT p.*, r.uri::text AS repo
  FROM (SELECT g.repo_id, g.id AS row_id, g.declared AS declared_range,
               g.dep_data->>'depType' AS dep_type, g.hints->>'path' AS path
          FROM global_dep g
         WHERE g.language = :language AND g.package = :package::text
           AND (:declared_ranges::text[] IS NULL OR g.declared = ANY(:declared_ranges::text[]))
           AND (:after_repo::int IS NULL OR (g.repo_id, g.id) > (:after_repo::int, :after_id::bigint))
         ORDER BY g.repo_id, g.id LIMIT :limit) p
  JOIN repo r ON r.id = p.repo_id
 ORDER BY p.repo_id, p.row_id

-- name: dependent_repos
-- A page of the repositories depending on a package, each with its first :per_repo declarations
-- (and how many it has in all). The inner GroupAggregate streams over the ordered
-- `global_dep_dependents` btree, index only, and stops after :limit repositories however popular
-- the package; each repository's declarations are then one short range of the same btree, and its
-- own package at the declaring manifest's path one `pkg_repo_idx` probe. The cursor is compared
-- unconditionally (0 on the first page: ids are serial) so that it stays an index condition in
-- the generic plan a prepared statement ends up with, where `:after IS NULL OR …` becomes a
-- filter and a page deep in a popular package reads every entry before it (220 ms at 10^7 rows).
SELECT r.repo_id, u.uri::text AS repo, r.declarations, d.row_id, d.declared_range, d.dep_type, d.path,
       k.pkg->>'name' AS defines, k.pkg->>'version' AS defines_version
  FROM (SELECT g.repo_id, count(*) AS declarations
          FROM global_dep g
         WHERE g.language = :language AND g.package = :package::text
           AND (:declared_ranges::text[] IS NULL OR g.declared = ANY(:declared_ranges::text[]))
           AND g.repo_id > :after_repo::int
         GROUP BY g.repo_id ORDER BY g.repo_id LIMIT :limit) r
  JOIN repo u ON u.id = r.repo_id
 CROSS JOIN LATERAL (
        SELECT g.id AS row_id, g.declared AS declared_range, g.dep_data->>'depType' AS dep_type,
               g.hints->>'path' AS path
          FROM global_dep g
         WHERE g.language = :language AND g.package = :package::text AND g.repo_id = r.repo_id
           AND (:declared_ranges::text[] IS NULL OR g.declared = ANY(:declared_ranges::text[]))
         ORDER BY g.id LIMIT :per_repo) d
  LEFT JOIN LATERAL (
        SELECT p.pkg FROM pkgs p
         WHERE p.repo_id = r.repo_id AND p.language = :language AND p.pkg->>'path' = d.path
         ORDER BY p.id LIMIT 1) k ON true
 ORDER BY r.repo_id, d.row_id

-- name: dependents_totals
-- Repositories, their own packages and declarations depending on a package (of those declaring
-- one of :declared_ranges, if given). A package is a manifest of the repository that declares it
-- (a workspace member, or the root), so all three come from one index-only scan of
-- `global_dep_dependents`, which carries the manifest's path (migration 19): tens of milliseconds
-- for 288,283 declarations at 10^7 rows, where joining each declaration to `pkgs` took 4.7 s.
SELECT count(DISTINCT repo_id) AS repositories, count(DISTINCT (repo_id, manifest)) AS packages,
       count(*) AS declarations
  FROM global_dep
 WHERE language = :language AND package = :package::text
   AND (:declared_ranges::text[] IS NULL OR declared = ANY(:declared_ranges::text[]))

-- name: dependents_by_range
-- How many dependents declare each range: an index-only scan of `global_dep_dependents`.
SELECT declared AS declared_range, count(*) AS count
  FROM global_dep WHERE language = :language AND package = :package::text
 GROUP BY 1 ORDER BY 2 DESC, 1

-- name: definers
-- Repositories whose manifests define a package, keyset on (repo_id, id).
SELECT p.repo_id, p.id, r.uri::text AS repo, p.pkg
  FROM pkgs p JOIN repo r ON r.id = p.repo_id
 WHERE p.pkg @> jsonb_build_object('name', :name::text) AND p.language = :language
   AND (:after_repo::int IS NULL OR (p.repo_id, p.id) > (:after_repo::int, :after_id::bigint))
 ORDER BY p.repo_id, p.id LIMIT :limit

-- name: repo_dependencies
SELECT id, language, dep_data AS data, hints FROM global_dep
 WHERE repo_id = :repo_id AND id > :after::bigint ORDER BY id LIMIT :limit

-- name: repo_resolved
-- A repository's resolved dependencies in the order written, on the primary key (repo_id, id); the
-- filters are checked on the repository's rows as they come (at most WHARF_INDEX_MAX_RESOLVED_PER_REPO).
SELECT id, language, package, version, depth, dev, optional, lockfile, parents, via, hints
  FROM resolved_dep
 WHERE repo_id = :repo_id AND id > :after::bigint
   AND (:language::text IS NULL OR language = :language::text)
   AND (:direct::boolean IS NULL OR (depth = 1) = :direct::boolean)
   AND (:dev::boolean IS NULL OR dev = :dev::boolean)
 ORDER BY id LIMIT :limit

-- name: repo_packages
SELECT id, language, pkg AS data, NULL::jsonb AS hints FROM pkgs
 WHERE repo_id = :repo_id AND id > :after::bigint ORDER BY id LIMIT :limit

-- name: repo_by_uri
SELECT id, uri::text, indexed_revision, created_at, updated_at FROM repo WHERE uri = :uri

-- name: ensure_repo
-- The repository's id, registering it on first sight; the no-op update locks an existing row
-- and makes RETURNING answer for it too.
INSERT INTO repo (uri) VALUES (:uri) ON CONFLICT (uri) DO UPDATE SET uri = repo.uri RETURNING id

-- name: register_repos
-- The repositories not yet known, created already recording the revision the caller's transaction
-- writes (one row version, not an insert and then an update: `repo` has a trigram GIN index, and
-- each new version of a packed row goes into all three of its indexes), in URI order; their ids.
-- The caller holds them until it commits. A URI another transaction is creating waits for it.
INSERT INTO repo (uri, indexed_revision, updated_at)
SELECT r.uri, r.revision, now() FROM unnest(:uris::text[], :revisions::text[]) AS r(uri, revision) ORDER BY r.uri
ON CONFLICT (uri) DO NOTHING
RETURNING id, uri::text, indexed_revision

-- name: lock_repos
-- In URI order, so that two batches sharing repositories never deadlock.
SELECT id, uri::text, indexed_revision FROM repo WHERE uri = ANY(:uris::citext[]) ORDER BY uri FOR UPDATE

-- name: record_revisions
UPDATE repo SET indexed_revision = r.revision, updated_at = now()
  FROM unnest(:repo_ids::int[], :revisions::text[]) AS r(id, revision) WHERE repo.id = r.id

-- name: tune_for_bulk_writes
-- For the rest of the writer's transaction (set_config's third argument: local), see
-- tune_for_bulk_writes in package_index.py.
SELECT set_config('synchronous_commit', 'off', true), set_config('work_mem', :work_mem::text, true)

-- name: indexed_dependencies
-- The rows a re-index compares its new ones with, JSON as PostgreSQL renders it (whatever codecs
-- the connection has): one `global_dep_repo_id` probe per repository, none found for a new one.
SELECT id, repo_id, language, dep_data::text AS data, hints::text AS hints FROM global_dep
 WHERE repo_id = ANY(:repo_ids::int[]) AND language = ANY(:languages::text[])

-- name: indexed_packages
SELECT id, repo_id, language, pkg::text AS data, NULL::text AS hints FROM pkgs
 WHERE repo_id = ANY(:repo_ids::int[]) AND language = ANY(:languages::text[])

-- name: delete_dependencies_by_id
-- Rows a re-index no longer has, by (repo_id, id). `g.repo_id = ANY(…)` bounds the scan of
-- `global_dep_repo_id` to the batch's repositories: joined on `unnest` alone, PostgreSQL merges
-- with the index read from its first entry up to the batch's last repository (220 ms against
-- 45 ms for 5,000 rows at 180,000 rows in the table; the whole index at the end of the id range).
DELETE FROM global_dep g USING unnest(:repo_ids::int[], :ids::bigint[]) AS d(repo_id, id)
 WHERE g.repo_id = ANY(:repo_ids::int[]) AND g.repo_id = d.repo_id AND g.id = d.id

-- name: delete_packages_by_id
DELETE FROM pkgs p USING unnest(:repo_ids::int[], :ids::bigint[]) AS d(repo_id, id)
 WHERE p.repo_id = ANY(:repo_ids::int[]) AND p.repo_id = d.repo_id AND p.id = d.id

-- name: delete_resolved
DELETE FROM resolved_dep WHERE repo_id = ANY(:repo_ids::int[]) AND language = ANY(:languages::text[])

-- name: repo_counts
SELECT count(*) AS repos, count(indexed_revision) AS indexed_repos FROM repo WHERE enabled

-- name: rows_per_language
SELECT language, sum(packages)::bigint AS packages, sum(dependencies)::bigint AS dependencies,
       sum(resolved)::bigint AS resolved FROM (
  SELECT language, count(*) AS packages, 0 AS dependencies, 0 AS resolved FROM pkgs GROUP BY language
  UNION ALL
  SELECT language, 0, count(*), 0 FROM global_dep GROUP BY language
  UNION ALL
  SELECT language, 0, 0, count(*) FROM resolved_dep GROUP BY language
) counts GROUP BY language ORDER BY language
