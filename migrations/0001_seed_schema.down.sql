-- Undo migration 1. Tables are dropped in an order that respects their foreign keys; the circle
-- between discussion_threads and discussion_threads_target_repo is cut first. schema_migrations
-- is the runner's and stays.

ALTER TABLE discussion_threads DROP CONSTRAINT discussion_threads_target_repo_id_fk;

DROP TABLE discussion_mail_reply_tokens;
DROP TABLE discussion_comments;
DROP TABLE discussion_threads_target_repo;
DROP TABLE discussion_threads;
DROP TABLE global_dep;
DROP TABLE pkgs;
DROP TABLE phabricator_repos;
DROP TABLE repo;
DROP TABLE registry_extension_releases;
DROP TABLE registry_extensions;
DROP TABLE settings_bkup_1514702776;
DROP TABLE settings;
DROP TABLE site_config;
DROP TABLE org_invitations;
DROP TABLE org_members_bkup_1514536731;
DROP TABLE org_members;
DROP TABLE access_tokens;
DROP TABLE user_external_accounts;
DROP TABLE user_emails;
DROP TABLE names;
DROP TABLE orgs;
DROP TABLE product_licenses;
DROP TABLE product_subscriptions;
DROP TABLE survey_responses;
DROP TABLE saved_queries;
DROP TABLE cert_cache;
DROP TABLE users;

DROP EXTENSION IF EXISTS pg_trgm;
DROP EXTENSION IF EXISTS citext;
