-- Migration 14: credentials for a repository fetched from a git remote, kept apart from its source.
-- A site admin may queue `https://user:token@host/owner/repo`; the source column keeps the URL
-- without its user information (it is logged, shown by the API and recorded in errors), and the
-- credentials live here, read by the workers' claim alone and never by a statement that answers
-- the API. The row leaves the queue once indexed, and the credentials with it.
ALTER TABLE repo_index_queue
    ADD COLUMN credentials text,
    ADD CONSTRAINT repo_index_queue_credentials_nonempty CHECK (credentials <> '');
