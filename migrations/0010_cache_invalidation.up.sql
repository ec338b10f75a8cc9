-- Migration 10: tell every serving process what changed, so that none keeps serving it from a cache.
--
-- Each write that changes what a cache holds sends a notification on channel `wharf_cache`, in
-- the writing transaction (PostgreSQL delivers it at commit, and never for a rollback), with a
-- payload naming what changed:
--   extension:<id>                      an extension, its releases, or its publisher changed
--   publisher:<name>                    a publisher was renamed or deleted, or a retired name changed
--   dependents:<language>:<package>     a package's dependents changed (the indexer's writes)
--   dependents:*                        too many packages to name, or the table was truncated
--   *                                   anything: a table was truncated
-- Triggers rather than the stores: the indexer, scripts and manual SQL write these tables too,
-- and a change nobody announced would leave every node's caches stale. Each payload is also
-- appended to the transaction-local setting `wharf.invalidations`, which the writing process reads
-- before it commits, so that it invalidates its own caches at once rather than when its listener
-- hears of it.

CREATE FUNCTION wharf_invalidate(payload text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wharf_cache', payload);
    PERFORM set_config('wharf.invalidations',
                       coalesce(current_setting('wharf.invalidations', true), '') || payload || E'\n', true);
END
$$;

-- A row trigger announcing `<kind><value>` for the column a row names what changed by, before and
-- after the change (once when it did not move): TG_ARGV[0] is the kind with its colon, TG_ARGV[1]
-- the column, TG_ARGV[2] 'lower' where the value is a case-insensitive name.
CREATE FUNCTION wharf_invalidate_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before text := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) ->> TG_ARGV[1] END;
    after text := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) ->> TG_ARGV[1] END;
BEGIN
    IF TG_ARGV[2] = 'lower' THEN
        before := lower(before);
        after := lower(after);
    END IF;
    IF before IS NOT NULL THEN
        PERFORM wharf_invalidate(TG_ARGV[0] || before);
    END IF;
    IF after IS NOT NULL AND after IS DISTINCT FROM before THEN
        PERFORM wharf_invalidate(TG_ARGV[0] || after);
    END IF;
    RETURN NULL;
END
$$;

-- A release was published, yanked or deleted (or changed by hand).
CREATE TRIGGER registry_extension_releases_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON registry_extension_releases
    FOR EACH ROW EXECUTE FUNCTION wharf_invalidate_row('extension:', 'registry_extension_id', '');

-- An extension was created, renamed, moved, deleted or published. Not for `downloads` alone: the
-- download counter's flushes touch only that column, and announcing each would clear caches for
-- nothing they hold.
CREATE FUNCTION wharf_invalidate_extension() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wharf_invalidate('extension:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END
$$;

CREATE TRIGGER registry_extensions_invalidate
    AFTER INSERT OR DELETE OR UPDATE OF id, uuid, publisher_user_id, publisher_org_id, name, manifest, deleted_at,
        title, description, categories, tags, wip, published_at, latest_release_id
    ON registry_extensions
    FOR EACH ROW EXECUTE FUNCTION wharf_invalidate_extension();

-- A user or org was renamed or deleted: its names, and every extension it publishes.
CREATE FUNCTION wharf_invalidate_publisher() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_name text;
    new_name text;
    publisher_id integer;
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        old_name := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.username::text END;
        new_name := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.username::text END;
    ELSE
        old_name := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.name::text END;
        new_name := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.name::text END;
    END IF;
    publisher_id := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
    IF old_name IS NOT NULL THEN
        PERFORM wharf_invalidate('publisher:' || lower(old_name));
    END IF;
    IF new_name IS NOT NULL AND new_name IS DISTINCT FROM old_name THEN
        PERFORM wharf_invalidate('publisher:' || lower(new_name));
    END IF;
    PERFORM wharf_invalidate('extension:' || e.id)
       FROM registry_extensions e
      WHERE CASE WHEN TG_TABLE_NAME = 'users' THEN e.publisher_user_id ELSE e.publisher_org_id END = publisher_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_invalidate
    AFTER INSERT OR DELETE OR UPDATE OF id, username, deleted_at ON users
    FOR EACH ROW EXECUTE FUNCTION wharf_invalidate_publisher();

CREATE TRIGGER orgs_invalidate
    AFTER INSERT OR DELETE OR UPDATE OF id, name, deleted_at ON orgs
    FOR EACH ROW EXECUTE FUNCTION wharf_invalidate_publisher();

-- The name rules (migration 6): a name retired, taken back or released by a site admin.
CREATE TRIGGER retired_names_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON retired_names
    FOR EACH ROW EXECUTE FUNCTION wharf_invalidate_row('publisher:', 'name', 'lower');

-- The package index: one notification per package whose dependents changed, per statement (the
-- indexer replaces a repository's rows with one DELETE and one COPY). A statement touching more
-- than 100 packages, or a name too long for a payload, announces `dependents:*` instead: NOTIFY
-- payloads are limited to 8000 bytes, and a flood of them would cost more than refilling.
CREATE FUNCTION wharf_invalidate_dependents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT 'dependents:' || language || ':' || coalesce(package, '')) INTO changed
          FROM (SELECT language, package FROM new_rows LIMIT 10000) r;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT 'dependents:' || language || ':' || coalesce(package, '')) INTO changed
          FROM (SELECT language, package FROM old_rows LIMIT 10000) r;
    ELSE
        SELECT array_agg(DISTINCT 'dependents:' || language || ':' || coalesce(package, '')) INTO changed
          FROM (SELECT language, package FROM old_rows UNION ALL SELECT language, package FROM new_rows LIMIT 10000) r;
    END IF;
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    IF cardinality(changed) > 100 OR EXISTS (SELECT FROM unnest(changed) p WHERE octet_length(p) > 4000) THEN
        PERFORM wharf_invalidate('dependents:*');
    ELSE
        PERFORM wharf_invalidate(p) FROM unnest(changed) p;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER global_dep_invalidate_insert
    AFTER INSERT ON global_dep REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_dependents();

CREATE TRIGGER global_dep_invalidate_update
    AFTER UPDATE ON global_dep REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_dependents();

CREATE TRIGGER global_dep_invalidate_delete
    AFTER DELETE ON global_dep REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_dependents();

-- A truncated table: everything its rows fed is gone.
CREATE FUNCTION wharf_invalidate_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wharf_invalidate(CASE WHEN TG_TABLE_NAME = 'global_dep' THEN 'dependents:*' ELSE '*' END);
    RETURN NULL;
END
$$;

CREATE TRIGGER global_dep_invalidate_truncate AFTER TRUNCATE ON global_dep
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_truncated();
CREATE TRIGGER registry_extensions_invalidate_truncate AFTER TRUNCATE ON registry_extensions
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_truncated();
CREATE TRIGGER registry_extension_releases_invalidate_truncate AFTER TRUNCATE ON registry_extension_releases
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_truncated();
CREATE TRIGGER users_invalidate_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_truncated();
CREATE TRIGGER orgs_invalidate_truncate AFTER TRUNCATE ON orgs
    FOR EACH STATEMENT EXECUTE FUNCTION wharf_invalidate_truncated();
