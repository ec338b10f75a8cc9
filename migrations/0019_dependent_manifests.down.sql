DROP INDEX global_dep_dependents;
ALTER TABLE global_dep DROP COLUMN manifest;
CREATE INDEX global_dep_dependents ON global_dep (language, package, repo_id, id) INCLUDE (declared);
