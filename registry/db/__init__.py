"""Database plumbing shared by the registry and the indexer: the embedded server, the connection
pool, the migration runner and the mapping of driver errors to domain errors."""
