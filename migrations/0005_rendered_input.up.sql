-- Migration 5: what user input becomes, computed once (off the event loop) and kept, so that no
-- read ever parses or renders it again. Only adds.

-- Each release's README as the page shows it: rendered and sanitized at publish (or, for a release
-- published before this migration, at its first page view), or the README as plain text when it
-- was refused (nested too deep) or its rendering overran its deadline (`plain`).
CREATE TABLE registry_release_readmes (
    release_id bigint NOT NULL,
    html text NOT NULL,
    plain boolean NOT NULL,
    CONSTRAINT registry_release_readmes_pkey PRIMARY KEY (release_id),
    CONSTRAINT registry_release_readmes_release_id_fkey
        FOREIGN KEY (release_id) REFERENCES registry_extension_releases(id) ON DELETE CASCADE
);

-- Each settings version's JSONC, parsed once when written, as strict JSON (read back with orjson
-- at C speed, keys in their written order); NULL for rows written around the API (parsed, off the
-- event loop, and kept at first use).
ALTER TABLE settings ADD COLUMN parsed text;
