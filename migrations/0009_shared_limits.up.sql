-- Migration 9: what every node must agree on, kept where every node sees it. Failure throttles
-- and per-address limits (registry/auth/throttle.py) and the one-download-per-client-per-window
-- rule (registry/download_counter.py) were kept in each process, so N nodes allowed N times the
-- limit. Both tables are UNLOGGED: a write costs no WAL, and what a crash loses (recent failures,
-- recently counted clients) is acceptable to lose; unlogged tables are not replicated, which is
-- fine, as only the primary reads them. Both are pruned as they are written (see the stores).

-- The recent failures (or limited attempts) of one key of one throttle: the database's clock's
-- stamps within the window, at most the throttle's limit of them; expires_at is the newest stamp
-- plus the window, past which the row says nothing and may be deleted.
CREATE UNLOGGED TABLE failure_windows (
    throttle text NOT NULL,
    key text NOT NULL,
    stamps timestamptz[] NOT NULL,
    max_count integer NOT NULL,
    span interval NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT failure_windows_pkey PRIMARY KEY (throttle, key)
);
CREATE INDEX failure_windows_expires_at ON failure_windows (expires_at);

-- When a client's (an address key's) download of a release last counted, on any node.
CREATE UNLOGGED TABLE download_clients (
    release_id bigint NOT NULL,
    client text NOT NULL,
    counted_at timestamptz NOT NULL,
    CONSTRAINT download_clients_pkey PRIMARY KEY (release_id, client)
);
CREATE INDEX download_clients_counted_at ON download_clients (counted_at);
