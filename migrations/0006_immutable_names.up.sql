-- Migration 6: a name, once published under, is never someone else's.
--
-- Two rules, kept here so that no code path (REST, /api/publish, GraphQL, a script) can get
-- around them:
-- 1. `publisher/name@version` is immutable forever. Every versioned release is recorded, in the
--    transaction that inserts it, under the names it was published under; the record outlives
--    yanks, extension and publisher deletions, renames and re-creations, and its primary key
--    refuses a second release of the same coordinate. SemVer build metadata is not part of the
--    coordinate (1.0.0+a and 1.0.0 have the same precedence; npm and crates.io refuse both too).
-- 2. The name of a publisher that has published is never freed by a delete or a rename: it is
--    retired (a rename's old name redirects to its owner's current name), and only its former
--    owner may take it back, until a site admin releases it explicitly.
-- The seed's tables keep their meaning: `names` still holds the live namespace only.

CREATE TABLE registry_published_versions (
    publisher citext NOT NULL,
    extension citext NOT NULL,
    version_key citext NOT NULL,
    version citext NOT NULL,
    content_sha256 bytea,
    release_id bigint NOT NULL,
    published_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT registry_published_versions_pkey PRIMARY KEY (publisher, extension, version_key)
);

CREATE TABLE retired_names (
    name citext NOT NULL,
    user_id integer,
    org_id integer,
    retired_at timestamp with time zone NOT NULL DEFAULT now(),
    released_at timestamp with time zone,
    released_by_user_id integer,
    CONSTRAINT retired_names_pkey PRIMARY KEY (name),
    CONSTRAINT retired_names_one_owner CHECK (user_id IS NULL OR org_id IS NULL),
    CONSTRAINT retired_names_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL,
    CONSTRAINT retired_names_org_id_fkey FOREIGN KEY (org_id) REFERENCES orgs(id) ON DELETE SET NULL,
    CONSTRAINT retired_names_released_by_user_id_fkey
        FOREIGN KEY (released_by_user_id) REFERENCES users(id) ON DELETE SET NULL
);

-- Rule 1: record each versioned release under its publisher's current name. The publisher's
-- `names` row is locked (FOR SHARE) until the release commits: a concurrent rename or deletion
-- waits for it, then sees the record (and copies it, or retires the name); a publish that comes
-- second reads the name as the rename left it.
CREATE FUNCTION registry_record_published_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    publisher_name citext;
    extension_name citext;
BEGIN
    SELECT n.name, e.name INTO publisher_name, extension_name
      FROM registry_extensions e
      JOIN names n ON n.user_id = e.publisher_user_id OR n.org_id = e.publisher_org_id
     WHERE e.id = NEW.registry_extension_id
       FOR SHARE OF n;
    IF NOT FOUND THEN  -- a publisher without a live name (not reachable through the API)
        SELECT coalesce(u.username, o.name), e.name INTO publisher_name, extension_name
          FROM registry_extensions e
          LEFT JOIN users u ON u.id = e.publisher_user_id
          LEFT JOIN orgs o ON o.id = e.publisher_org_id
         WHERE e.id = NEW.registry_extension_id;
    END IF;
    INSERT INTO registry_published_versions (publisher, extension, version_key, version, content_sha256, release_id)
    VALUES (publisher_name, extension_name, split_part(NEW.release_version::text, '+', 1)::citext,
            NEW.release_version, NEW.content_sha256, NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER registry_extension_releases_record_version
    AFTER INSERT ON registry_extension_releases
    FOR EACH ROW WHEN (NEW.release_version IS NOT NULL)
    EXECUTE FUNCTION registry_record_published_version();

-- A published release never changes what it serves, and a yank is never undone.
CREATE FUNCTION registry_refuse_release_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.registry_extension_id IS DISTINCT FROM OLD.registry_extension_id
       OR NEW.release_version IS DISTINCT FROM OLD.release_version
       OR NEW.release_tag IS DISTINCT FROM OLD.release_tag
       OR NEW.manifest IS DISTINCT FROM OLD.manifest
       OR NEW.bundle IS DISTINCT FROM OLD.bundle
       OR NEW.source_map IS DISTINCT FROM OLD.source_map
       OR NEW.content_sha256 IS DISTINCT FROM OLD.content_sha256
       OR (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL) THEN
        RAISE EXCEPTION 'release % is immutable', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'registry_extension_releases_immutable';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER registry_extension_releases_immutable
    BEFORE UPDATE ON registry_extension_releases
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_release_change();

-- An extension never moves to another publisher or name (its releases' coordinates would move).
CREATE FUNCTION registry_refuse_extension_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name IS DISTINCT FROM OLD.name
       OR NEW.publisher_user_id IS DISTINCT FROM OLD.publisher_user_id
       OR NEW.publisher_org_id IS DISTINCT FROM OLD.publisher_org_id THEN
        RAISE EXCEPTION 'extension % keeps its publisher and name', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'registry_extensions_fixed_id';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER registry_extensions_fixed_id
    BEFORE UPDATE OF name, publisher_user_id, publisher_org_id ON registry_extensions
    FOR EACH ROW EXECUTE FUNCTION registry_refuse_extension_move();

-- Rule 2, giving a name up: a name that has been published under is retired, not freed; a rename
-- also records the published coordinates under the new name (the old name's ids redirect there,
-- so what they serve must stay what was published).
CREATE FUNCTION names_retire_published() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.name = OLD.name THEN
            RETURN NULL;  -- a change of case only: the same name
        END IF;
        INSERT INTO registry_published_versions
               (publisher, extension, version_key, version, content_sha256, release_id, published_at)
        SELECT NEW.name, extension, version_key, version, content_sha256, release_id, published_at
          FROM registry_published_versions WHERE publisher = OLD.name
        ON CONFLICT DO NOTHING;
    END IF;
    IF EXISTS (SELECT FROM registry_published_versions WHERE publisher = OLD.name)
       OR EXISTS (SELECT FROM registry_extension_releases r
                    JOIN registry_extensions e ON e.id = r.registry_extension_id
                   WHERE e.publisher_user_id = OLD.user_id OR e.publisher_org_id = OLD.org_id) THEN
        INSERT INTO retired_names (name, user_id, org_id) VALUES (OLD.name, OLD.user_id, OLD.org_id)
        ON CONFLICT (name) DO UPDATE
           SET user_id = EXCLUDED.user_id, org_id = EXCLUDED.org_id, retired_at = now(),
               released_at = NULL, released_by_user_id = NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER names_retire_published
    AFTER DELETE OR UPDATE OF name ON names
    FOR EACH ROW EXECUTE FUNCTION names_retire_published();

-- Rule 2, taking a name: a retired name is refused (as a unique violation, so it is a 409), except
-- to its former owner, who takes it back. An AFTER trigger: its query runs once the insert has
-- waited for any concurrent transaction giving the same name up, so it sees that retirement.
CREATE FUNCTION names_refuse_retired() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    held retired_names;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name = OLD.name THEN
        RETURN NULL;
    END IF;
    SELECT * INTO held FROM retired_names WHERE name = NEW.name AND released_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF (held.user_id IS NOT NULL AND held.user_id = NEW.user_id)
       OR (held.org_id IS NOT NULL AND held.org_id = NEW.org_id) THEN
        DELETE FROM retired_names WHERE name = NEW.name;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the name % is retired', NEW.name
        USING ERRCODE = 'unique_violation', CONSTRAINT = 'retired_names_pkey';
END
$$;

CREATE TRIGGER names_refuse_retired
    AFTER INSERT OR UPDATE OF name ON names
    FOR EACH ROW EXECUTE FUNCTION names_refuse_retired();

-- What was published before this migration: the first release of each coordinate holds it, and the
-- names of deleted publishers that published, not since taken, are retired.
INSERT INTO registry_published_versions
       (publisher, extension, version_key, version, content_sha256, release_id, published_at)
SELECT coalesce(u.username, o.name), e.name, split_part(r.release_version::text, '+', 1)::citext,
       r.release_version, r.content_sha256, r.id, r.created_at
  FROM registry_extension_releases r
  JOIN registry_extensions e ON e.id = r.registry_extension_id
  LEFT JOIN users u ON u.id = e.publisher_user_id
  LEFT JOIN orgs o ON o.id = e.publisher_org_id
 WHERE r.release_version IS NOT NULL
 ORDER BY r.id
ON CONFLICT DO NOTHING;

INSERT INTO retired_names (name, user_id, org_id, retired_at)
SELECT DISTINCT ON (p.publisher) p.publisher, u.id, o.id, coalesce(u.deleted_at, o.deleted_at, now())
  FROM registry_published_versions p
  LEFT JOIN users u ON u.username = p.publisher AND u.deleted_at IS NOT NULL
  LEFT JOIN orgs o ON o.name = p.publisher AND o.deleted_at IS NOT NULL AND u.id IS NULL
 WHERE NOT EXISTS (SELECT FROM names n WHERE n.name = p.publisher)
 ORDER BY p.publisher, u.deleted_at DESC NULLS LAST, o.deleted_at DESC NULLS LAST;
