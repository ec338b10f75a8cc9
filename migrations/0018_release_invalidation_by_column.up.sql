-- Migration 18: a release announces its change (migration 10's `extension:<id>`) by reading its one
-- column, not through `to_jsonb(NEW)`.
--
-- Migration 10's generic row trigger finds the column it announces by building the whole row as
-- jsonb, and a release's row holds its bundle and source map: each publish decompressed and copied
-- its ~1 MiB bundle into a jsonb value only to read an integer out of it (2.5-3 ms of a publish's
-- INSERT, measured with EXPLAIN ANALYZE on PostgreSQL 15), and a yank did so twice. Reading
-- NEW.registry_extension_id touches no other column. What is announced, and when, is unchanged:
-- the old extension's id when a row is updated or deleted, the new one when a row is inserted or
-- moves to another extension.

CREATE FUNCTION wharf_invalidate_release() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM wharf_invalidate('extension:' || OLD.registry_extension_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.registry_extension_id IS DISTINCT FROM OLD.registry_extension_id) THEN
        PERFORM wharf_invalidate('extension:' || NEW.registry_extension_id);
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER registry_extension_releases_invalidate ON registry_extension_releases;
CREATE TRIGGER registry_extension_releases_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON registry_extension_releases
    FOR EACH ROW EXECUTE FUNCTION wharf_invalidate_release();
