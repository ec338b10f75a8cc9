-- name: pending_changes
-- Just before COMMIT: whether the transaction wrote anything (it has a transaction id only then),
-- and what it announced to the caches (migration 10's `wharf.invalidations`, one per line).
SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS wrote,
       current_setting('wharf.invalidations', true) AS invalidations
