-- Migration 13: announce the *name* an extension comes to exist under, so that a node that keeps
-- "no such extension" (registry.response_cache: a 404 answered from memory) forgets it when that
-- extension is created, undeleted, renamed or moved, on every node.
--
-- Migration 10 announces `extension:<id>`, which a negative entry cannot name (there was no id when
-- it was kept). Each insert of a live extension, and each update that gives a live extension its
-- name or publisher (or brings it back from deletion), now also announces
--   extension-name:<publisher>/<name>   lower case (names are ASCII: their CHECK constraints)
-- A publisher that comes to exist under a name (created, renamed to it, undeleted) is announced by
-- migration 10 already (`publisher:<name>`), and negative entries carry that tag too.

CREATE OR REPLACE FUNCTION wharf_invalidate_extension() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    publisher_name text;
BEGIN
    PERFORM wharf_invalidate('extension:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL AND (
        TG_OP = 'INSERT'
        OR OLD.deleted_at IS NOT NULL
        OR NEW.name IS DISTINCT FROM OLD.name
        OR NEW.publisher_user_id IS DISTINCT FROM OLD.publisher_user_id
        OR NEW.publisher_org_id IS DISTINCT FROM OLD.publisher_org_id
    ) THEN
        SELECT coalesce((SELECT u.username::text FROM users u WHERE u.id = NEW.publisher_user_id),
                        (SELECT o.name::text FROM orgs o WHERE o.id = NEW.publisher_org_id))
          INTO publisher_name;
        IF publisher_name IS NOT NULL THEN
            PERFORM wharf_invalidate('extension-name:' || lower(publisher_name) || '/' || lower(NEW.name::text));
        END IF;
    END IF;
    RETURN NULL;
END
$$;
