#!/bin/sh
# Runs once, when the primary's data directory is first initialised (docker-entrypoint-initdb.d):
# a role the standby streams as, and the pg_hba line that lets it, from the compose network only.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD}';
SQL
echo "host replication replicator samenet scram-sha-256" >> "$PGDATA/pg_hba.conf"
