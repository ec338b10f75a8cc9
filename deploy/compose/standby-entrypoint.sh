#!/bin/sh
# The standby: on first start, copy the primary with `pg_basebackup -R` (which writes standby.signal
# and primary_conninfo), through a replication slot so the primary keeps the WAL it has not yet
# sent; on every start, run PostgreSQL on that copy as a hot standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h primary -p 5432 -q; do sleep 1; done
  export PGPASSWORD="$REPLICATION_PASSWORD"
  pg_basebackup -h primary -p 5432 -U replicator -D "$PGDATA" -R -X stream -C -S standby1 --checkpoint=fast
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on
