-- name: upsert_advisory
-- A record is written when it is new or newer than the stored one (OSV's `modified`); an older or
-- equal one changes nothing and returns no row. `inserted` tells new from updated (xmax is 0 on a
-- row this statement inserted). `raw` is bound as text so that no JSON codec encodes it twice.
INSERT INTO advisory AS a (id, aliases, summary, details, modified, published, withdrawn, raw)
VALUES (:id, :aliases::text[], :summary, :details, :modified, :published, :withdrawn, :raw::text::jsonb)
ON CONFLICT (id) DO UPDATE
   SET aliases = excluded.aliases, summary = excluded.summary, details = excluded.details,
       modified = excluded.modified, published = excluded.published, withdrawn = excluded.withdrawn,
       raw = excluded.raw, imported_at = now()
 WHERE a.modified < excluded.modified
RETURNING (xmax = 0) AS inserted

-- name: delete_affected
DELETE FROM advisory_affected WHERE advisory_id = :advisory_id

-- name: insert_affected
INSERT INTO advisory_affected (advisory_id, position, language, package, ecosystem, name, ranges, versions, fixed)
VALUES (:advisory_id, :position, :language, :package, :ecosystem, :name, :ranges::text::jsonb,
        :versions::text[], :fixed::text[])

-- name: advisory_by_id_or_alias
-- The record named `id`, else one that has it as an alias (the lowest id, when several do: a CVE
-- is often aliased by a GHSA and a PYSEC record alike).
SELECT id, aliases, summary, details, modified, published, withdrawn
  FROM advisory WHERE id = :id OR aliases @> ARRAY[:id::text]
 ORDER BY id <> :id, id LIMIT 1

-- name: affected_of
SELECT advisory_id, position, language, package, ecosystem, name, ranges, versions, fixed
  FROM advisory_affected WHERE advisory_id = :advisory_id ORDER BY position

-- name: declared_in_use
-- The ranges a package is declared with, each once: an index-only scan of `global_dep_dependents`
-- (migration 3). The service evaluates each against the advisory once, not once per dependent.
SELECT declared AS declared_range, count(*) AS count
  FROM global_dep WHERE language = :language AND package = :package::text
 GROUP BY 1 ORDER BY 1

-- name: resolved_in_use
-- The versions lockfiles resolved for a package, each once: an index-only scan of
-- `resolved_dep_dependents` (migration 16). Evaluated once each against the advisory.
SELECT DISTINCT version FROM resolved_dep WHERE language = :language AND package = :package::text ORDER BY 1

-- name: affected_page
-- The rows the service found affected, keyset by (repo_id, kind, row id): resolved rows (kind 0)
-- running one of the (language, package, version) triples, then declared rows (kind 1) declaring
-- one of the (language, package, declared range) triples — these only for repositories with no
-- lockfile of that language, whose resolved versions say more than any range. Each branch reads
-- its index (`resolved_dep_dependents`, `global_dep_dependents`) per triple and stops at the limit.
SELECT p.*, r.uri::text AS repo
  FROM ((SELECT d.repo_id, 0 AS kind, d.id AS row_id, d.language, d.package, NULL::text AS declared_range,
                d.version, NULL::text AS dep_type, d.lockfile AS path, d.depth, d.via
           FROM unnest(:r_languages::text[], :r_packages::text[], :r_versions::text[]) AS m(language, package, version)
           JOIN resolved_dep d ON d.language = m.language AND d.package = m.package AND d.version = m.version
          WHERE (d.repo_id, 0, d.id) > (:after_repo::int, :after_kind::int, :after_id::bigint)
          ORDER BY d.repo_id, d.id LIMIT :limit)
        UNION ALL
        (SELECT g.repo_id, 1 AS kind, g.id AS row_id, g.language, g.package, g.declared AS declared_range,
                NULL::text AS version, g.dep_data->>'depType' AS dep_type, g.hints->>'path' AS path,
                NULL::smallint AS depth, NULL::text[] AS via
           FROM unnest(:d_languages::text[], :d_packages::text[], :d_declared::text[]) AS m(language, package, declared)
           JOIN global_dep g ON g.language = m.language AND g.package = m.package AND g.declared = m.declared
          WHERE (g.repo_id, 1, g.id) > (:after_repo::int, :after_kind::int, :after_id::bigint)
            AND NOT EXISTS (SELECT FROM resolved_dep x WHERE x.repo_id = g.repo_id AND x.language = g.language)
          ORDER BY g.repo_id, g.id LIMIT :limit)
         ORDER BY repo_id, kind, row_id LIMIT :limit) p
  JOIN repo r ON r.id = p.repo_id
 ORDER BY p.repo_id, p.kind, p.row_id

-- name: repo_candidates
-- A repository's dependencies on packages some live advisory names, with that advisory's entry:
-- the candidates the service evaluates — its resolved rows (kind 0), and its declared rows (kind 1)
-- of the languages it has no lockfile of. Keyset by (advisory, kind, row, entry).
SELECT c.*
  FROM ((SELECT a.id AS advisory_id, a.summary, a.aliases, f.position, f.language, f.package, f.ecosystem, f.name,
                f.ranges, f.versions, f.fixed, 0 AS kind, d.id AS row_id, NULL::text AS declared_range,
                d.version, NULL::text AS dep_type, d.lockfile AS path, d.depth, d.via
           FROM resolved_dep d
           JOIN advisory_affected f ON f.language = d.language AND f.package = d.package
           JOIN advisory a ON a.id = f.advisory_id AND a.withdrawn IS NULL
          WHERE d.repo_id = :repo_id)
        UNION ALL
        (SELECT a.id, a.summary, a.aliases, f.position, f.language, f.package, f.ecosystem, f.name,
                f.ranges, f.versions, f.fixed, 1, g.id, g.declared, NULL::text, g.dep_data->>'depType',
                g.hints->>'path', NULL::smallint, NULL::text[]
           FROM global_dep g
           JOIN advisory_affected f ON f.language = g.language AND f.package = g.package
           JOIN advisory a ON a.id = f.advisory_id AND a.withdrawn IS NULL
          WHERE g.repo_id = :repo_id
            AND NOT EXISTS (SELECT FROM resolved_dep x WHERE x.repo_id = g.repo_id AND x.language = g.language))) c
 WHERE (:after_advisory::text IS NULL
        OR (c.advisory_id, c.kind, c.row_id, c.position)
           > (:after_advisory::text, :after_kind::int, :after_row::bigint, :after_position::int))
 ORDER BY c.advisory_id, c.kind, c.row_id, c.position LIMIT :limit
