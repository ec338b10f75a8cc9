DROP TABLE repo_index_queue;
ALTER TABLE pkgs DROP COLUMN id;
ALTER TABLE global_dep DROP COLUMN id;
