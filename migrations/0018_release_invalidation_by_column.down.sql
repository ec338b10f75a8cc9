DROP TRIGGER registry_extension_releases_invalidate ON registry_extension_releases;
CREATE TRIGGER registry_extension_releases_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON registry_extension_releases
    FOR EACH ROW EXECUTE FUNCTION wharf_invalidate_row('extension:', 'registry_extension_id', '');
DROP FUNCTION wharf_invalidate_release();
