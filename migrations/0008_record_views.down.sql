DROP VIEW live_discussion_threads;
DROP VIEW live_org_invitations;
DROP VIEW release_metadata;
DROP FUNCTION listed_extensions(boolean, text, text, text, text, boolean);
DROP VIEW live_extensions;
