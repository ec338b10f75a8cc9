-- Migration 3: what the package index needs beyond the seed (which stays as it is).

-- A stable row identity, so that dependents and packages page by (repo_id, id) without ties.
ALTER TABLE global_dep ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE pkgs ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;

-- "Who depends on X" for a popular X. The seed's GIN index (jsonb_path_ops) finds the rows of a
-- package, but only all of them at once and in no order: for a package with 80,000 dependents
-- every page costs 80,000 heap visits (measured: bench/bench_dependents.py). Stored columns for
-- the package and its declared range, and a btree in keyset order that carries the range, let a
-- page stop after `limit` rows and let the per-range counts come from the index alone.
-- The API uses the GIN path for packages with few dependents and this one for the rest.
ALTER TABLE global_dep
    ADD COLUMN package text GENERATED ALWAYS AS (dep_data ->> 'package') STORED,
    ADD COLUMN declared text GENERATED ALWAYS AS (coalesce(dep_data ->> 'version', '')) STORED;
CREATE INDEX global_dep_dependents ON global_dep (language, package, repo_id, id) INCLUDE (declared);

-- Repositories waiting to be indexed. Workers on any host claim a row with
-- SELECT ... FOR UPDATE SKIP LOCKED and hold it for a lease; a crashed worker's lease expires
-- and the row becomes claimable again. A row leaves the queue once its revision is indexed.
CREATE TABLE repo_index_queue (
    repo_id integer NOT NULL,
    source text NOT NULL,
    revision text,
    requested_at timestamp with time zone NOT NULL DEFAULT now(),
    available_at timestamp with time zone NOT NULL DEFAULT now(),
    claimed_by text,
    claimed_until timestamp with time zone,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    CONSTRAINT repo_index_queue_pkey PRIMARY KEY (repo_id),
    CONSTRAINT repo_index_queue_repo_id_fkey FOREIGN KEY (repo_id) REFERENCES repo(id) ON DELETE CASCADE,
    CONSTRAINT repo_index_queue_source_nonempty CHECK (source <> '')
);
CREATE INDEX repo_index_queue_ready ON repo_index_queue (available_at, requested_at);
