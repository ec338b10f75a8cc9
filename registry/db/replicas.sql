-- name: primary_lsn
-- Where the primary's WAL is now: the monitor's clock of the primary, and the position a write
-- committed before (read on the writing connection right after COMMIT).
SELECT pg_current_wal_lsn()::text

-- name: replayed_lsn
-- How far a replica has replayed. A server that is not in recovery (a replica DSN naming the
-- primary itself) has everything it has written.
SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text
