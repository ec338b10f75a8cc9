-- Migration 16: the versions that lockfiles resolve, beside the seed's `global_dep` (which keeps its
-- meaning: what manifests declare). One row per (repository, lockfile, package, version) as
-- registry.ecosystems.base.ResolvedDependency describes it; the indexer's writer replaces a
-- repository's rows of a language in the same transaction as its `global_dep` and `pkgs` rows, so a
-- reader sees one revision's declared and resolved dependencies together, never a mix.
--
-- `depth` is 1 for a direct dependency, the length of the shortest path from a root of the lock
-- for a transitive one, 0 where the lockfile has no graph. `parents` are the lock's packages that
-- pull this one in (`name@version`); `via` is one shortest path from the root to it — the packages
-- between, the direct dependency first, this one excluded — computed once when written so that
-- "through what?" is answered without walking the graph per request.
CREATE TABLE resolved_dep (
    id bigint GENERATED ALWAYS AS IDENTITY,
    repo_id integer NOT NULL,
    language text NOT NULL,
    package text NOT NULL,
    version text NOT NULL,
    depth smallint NOT NULL,
    dev boolean NOT NULL,
    optional boolean NOT NULL,
    lockfile text NOT NULL,
    parents text[] NOT NULL DEFAULT '{}',
    via text[] NOT NULL DEFAULT '{}',
    hints jsonb NOT NULL DEFAULT '{}',
    -- A repository's rows in the order they were written: `/api/repos/{uri}/resolved` pages on it,
    -- and the writer deletes by it.
    CONSTRAINT resolved_dep_pkey PRIMARY KEY (repo_id, id),
    CONSTRAINT resolved_dep_repo_id FOREIGN KEY (repo_id) REFERENCES repo(id) ON DELETE RESTRICT,
    CONSTRAINT resolved_dep_depth CHECK (depth >= 0),
    CONSTRAINT resolved_dep_package_nonempty CHECK (package <> '')
);

-- "Who runs X at version V": the rows of one (package, version) in keyset order by repository, so a
-- page stops after `limit` rows; the per-version counts come from the index alone.
CREATE INDEX resolved_dep_dependents ON resolved_dep (language, package, version, repo_id, id)
    INCLUDE (depth);

-- Caches of a package's dependents (declared and resolved) end when its resolved rows change, on
-- every node, as they do for global_dep (migration 10's function: one notification per package per
-- statement, `dependents:*` past 100 packages).
CREATE TRIGGER resolved_dep_invalidate_insert
    AFTER INSERT ON resolved_dep REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_dependents();

CREATE TRIGGER resolved_dep_invalidate_update
    AFTER UPDATE ON resolved_dep REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_dependents();

CREATE TRIGGER resolved_dep_invalidate_delete
    AFTER DELETE ON resolved_dep REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_dependents();

CREATE TRIGGER resolved_dep_invalidate_truncate AFTER TRUNCATE ON resolved_dep
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_truncated();
