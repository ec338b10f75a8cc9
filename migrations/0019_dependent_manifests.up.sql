-- Migration 19: "how many packages depend on X" from the dependents btree alone.
--
-- A package's dependents are counted as repositories, packages and declarations. Counting the
-- packages by joining each declaration's manifest (`hints->>'path'`) to `pkgs` read the heap of
-- every declaration and hashed the language's `pkgs`: 4.7 s for a package with 288,283 declarations
-- at 10^7 rows (EXPLAIN ANALYZE, cold), where the repositories and declarations come from an
-- index-only scan in tens of milliseconds. The declaring manifest, stored beside `declared` and
-- carried by the btree, makes all three counts one index-only scan: a package is a manifest of the
-- repository that declares the dependency (a workspace member, or the root).
ALTER TABLE global_dep ADD COLUMN manifest text GENERATED ALWAYS AS (coalesce(hints ->> 'path', '')) STORED;
DROP INDEX global_dep_dependents;
CREATE INDEX global_dep_dependents ON global_dep (language, package, repo_id, id) INCLUDE (declared, manifest);
