-- name: ping
-- The listener's connection is alive (a dead peer is otherwise noticed only when TCP gives up).
SELECT 1
