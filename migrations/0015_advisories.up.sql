-- Migration 15: security advisories (OSV records), as `indexer advisories import` stores them.

-- One row per OSV record. `modified` decides whether a re-import overwrites (only a newer one
-- does); `raw` keeps the record as published (bounded: the importer refuses larger files first)
-- so that fields not modelled here (severity, references, credits) are never lost.
CREATE TABLE advisory (
    id text NOT NULL,
    aliases text[] NOT NULL DEFAULT '{}',
    summary text NOT NULL DEFAULT '',
    details text,
    modified timestamp with time zone NOT NULL,
    published timestamp with time zone,
    withdrawn timestamp with time zone,
    raw jsonb NOT NULL,
    imported_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT advisory_pkey PRIMARY KEY (id),
    CONSTRAINT advisory_id_shape CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'),
    CONSTRAINT advisory_raw_bounded CHECK (octet_length(raw::text) <= 4194304)
);
-- "What is CVE-2021-44228?": an alias finds the records that name it.
CREATE INDEX advisory_aliases ON advisory USING gin (aliases);

-- One row per `affected[]` entry of an ecosystem Wharf indexes. `language` and `package` are
-- Wharf's (the package normalised by its ecosystem's rule) so that they meet `global_dep`'s
-- generated columns; `ecosystem` and `name` are as OSV wrote them. `ranges` holds the OSV ranges
-- (GIT ones included, though they cannot be evaluated against package versions); `fixed` the
-- ranges' fixed versions, for display and for "the first fixed version".
CREATE TABLE advisory_affected (
    advisory_id text NOT NULL,
    position integer NOT NULL,
    language text NOT NULL,
    package text NOT NULL,
    ecosystem text NOT NULL,
    name text NOT NULL,
    ranges jsonb NOT NULL DEFAULT '[]',
    versions text[] NOT NULL DEFAULT '{}',
    fixed text[] NOT NULL DEFAULT '{}',
    CONSTRAINT advisory_affected_pkey PRIMARY KEY (advisory_id, position),
    CONSTRAINT advisory_affected_advisory_id_fkey FOREIGN KEY (advisory_id) REFERENCES advisory(id) ON DELETE CASCADE,
    CONSTRAINT advisory_affected_package_nonempty CHECK (package <> '')
);
-- "Advisories of package X" (a repository's advisories join its dependencies to this).
CREATE INDEX advisory_affected_package ON advisory_affected (language, package);
