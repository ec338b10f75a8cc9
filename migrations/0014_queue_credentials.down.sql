ALTER TABLE repo_index_queue DROP COLUMN credentials;
