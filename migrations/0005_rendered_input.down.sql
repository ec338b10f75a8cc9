ALTER TABLE settings DROP COLUMN parsed;
DROP TABLE registry_release_readmes;
