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

-- name: declared_affected_page
-- Dependencies declaring one of the (language, package, declared range) triples the service found
-- affected, keyset by (repo_id, row id) like /api/dependents; `global_dep_dependents` answers each
-- triple in that order.
SELECT p.*, r.uri::text AS repo
  FROM (SELECT g.repo_id, g.id AS row_id, g.language, g.package, g.declared AS declared_range,
               g.dep_data->>'depType' AS dep_type, g.hints->>'path' AS path
          FROM unnest(:languages::text[], :packages::text[], :declared::text[]) AS m(language, package, declared)
          JOIN global_dep g ON g.language = m.language AND g.package = m.package AND g.declared = m.declared
         WHERE (:after_repo::int IS NULL OR (g.repo_id, g.id) > (:after_repo::int, :after_id::bigint))
         ORDER BY g.repo_id, g.id LIMIT :limit) p
  JOIN repo r ON r.id = p.repo_id
 ORDER BY p.repo_id, p.row_id

-- name: repo_candidates
-- A repository's dependencies on packages some live advisory names, with that advisory's entry:
-- the candidates the service evaluates. Keyset by (advisory, dependency row, entry).
SELECT a.id AS advisory_id, a.summary, a.aliases, f.position, f.language, f.package, f.ecosystem, f.name,
       f.ranges, f.versions, f.fixed, g.id AS row_id, g.declared AS declared_range,
       g.dep_data->>'depType' AS dep_type, g.hints->>'path' AS path
  FROM global_dep g
  JOIN advisory_affected f ON f.language = g.language AND f.package = g.package
  JOIN advisory a ON a.id = f.advisory_id AND a.withdrawn IS NULL
 WHERE g.repo_id = :repo_id
   AND (:after_advisory::text IS NULL
        OR (a.id, g.id, f.position) > (:after_advisory::text, :after_row::bigint, :after_position::int))
 ORDER BY a.id, g.id, f.position LIMIT :limit
