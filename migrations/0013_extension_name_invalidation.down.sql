CREATE OR REPLACE FUNCTION wharf_invalidate_extension() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wharf_invalidate('extension:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END
$$;
