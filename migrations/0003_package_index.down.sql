DROP TABLE repo_index_queue;
ALTER TABLE pkgs DROP COLUMN id;
DROP INDEX global_dep_dependents;
ALTER TABLE global_dep DROP COLUMN declared, DROP COLUMN package, DROP COLUMN id;
