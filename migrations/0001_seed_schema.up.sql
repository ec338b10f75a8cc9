-- Migration 1: the seed schema, reproduced table for table, column for column, index for index
-- and constraint for constraint from shared/schema/seed-schema.md. tests/db/test_seed_conformance.py
-- compares the live catalog with that document; change neither without the other.
--
-- schema_migrations is part of the seed too, but it belongs to the migration runner, which creates
-- it (exactly as golang-migrate does) before any migration runs; it is left out here on purpose.

CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Accounts ------------------------------------------------------------------------------------

CREATE TABLE users (
    id serial NOT NULL,
    username citext NOT NULL,
    display_name text,
    avatar_url text,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    deleted_at timestamp with time zone,
    invite_quota integer NOT NULL DEFAULT 15,
    passwd text,
    passwd_reset_code text,
    passwd_reset_time timestamp with time zone,
    site_admin boolean NOT NULL DEFAULT false,
    page_views integer NOT NULL DEFAULT 0,
    search_queries integer NOT NULL DEFAULT 0,
    tags text[] DEFAULT '{}'::text[],
    billing_customer_id text,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_display_name_max_length CHECK (char_length(display_name) <= 255),
    CONSTRAINT users_username_max_length CHECK (char_length(username::text) <= 255),
    CONSTRAINT users_username_valid_chars
        CHECK (username ~ '^[a-zA-Z0-9](?:[a-zA-Z0-9]|-(?=[a-zA-Z0-9]))*$'::citext)
);
CREATE UNIQUE INDEX users_billing_customer_id ON users USING btree (billing_customer_id) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_username ON users USING btree (username) WHERE deleted_at IS NULL;

CREATE TABLE orgs (
    id serial NOT NULL,
    name citext NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    display_name text,
    slack_webhook_url text,
    deleted_at timestamp with time zone,
    CONSTRAINT orgs_pkey PRIMARY KEY (id),
    CONSTRAINT orgs_display_name_max_length CHECK (char_length(display_name) <= 255),
    CONSTRAINT orgs_name_max_length CHECK (char_length(name::text) <= 255),
    CONSTRAINT orgs_name_valid_chars
        CHECK (name ~ '^[a-zA-Z0-9](?:[a-zA-Z0-9]|-(?=[a-zA-Z0-9]))*$'::citext)
);
CREATE UNIQUE INDEX orgs_name ON orgs USING btree (name) WHERE deleted_at IS NULL;

CREATE TABLE names (
    name citext NOT NULL,
    user_id integer,
    org_id integer,
    CONSTRAINT names_pkey PRIMARY KEY (name),
    CONSTRAINT names_check CHECK (user_id IS NOT NULL OR org_id IS NOT NULL),
    CONSTRAINT names_org_id_fkey FOREIGN KEY (org_id) REFERENCES orgs(id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT names_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE user_emails (
    user_id integer NOT NULL,
    email citext NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    verification_code text,
    verified_at timestamp with time zone,
    CONSTRAINT user_emails_no_duplicates_per_user UNIQUE (user_id, email),
    CONSTRAINT user_emails_unique_verified_email EXCLUDE USING btree (email WITH =) WHERE (verified_at IS NOT NULL),
    CONSTRAINT user_emails_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id)
);

CREATE TABLE user_external_accounts (
    id serial NOT NULL,
    user_id integer NOT NULL,
    service_type text NOT NULL,
    service_id text NOT NULL,
    account_id text NOT NULL,
    auth_data jsonb,
    account_data jsonb,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    deleted_at timestamp with time zone,
    client_id text NOT NULL,
    CONSTRAINT user_external_accounts_pkey PRIMARY KEY (id),
    CONSTRAINT user_external_accounts_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id)
);
CREATE UNIQUE INDEX user_external_accounts_account ON user_external_accounts
    USING btree (service_type, service_id, client_id, account_id) WHERE deleted_at IS NULL;

CREATE TABLE access_tokens (
    id bigserial NOT NULL,
    subject_user_id integer NOT NULL,
    value_sha256 bytea NOT NULL,
    note text NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    last_used_at timestamp with time zone,
    deleted_at timestamp with time zone,
    creator_user_id integer NOT NULL,
    scopes text[] NOT NULL,
    CONSTRAINT access_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT access_tokens_value_sha256_key UNIQUE (value_sha256),
    CONSTRAINT access_tokens_creator_user_id_fkey FOREIGN KEY (creator_user_id) REFERENCES users(id),
    CONSTRAINT access_tokens_subject_user_id_fkey FOREIGN KEY (subject_user_id) REFERENCES users(id)
);
CREATE INDEX access_tokens_lookup ON access_tokens USING hash (value_sha256) WHERE deleted_at IS NULL;

CREATE TABLE org_members (
    id serial NOT NULL,
    org_id integer NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    user_id integer NOT NULL,
    CONSTRAINT org_members_pkey PRIMARY KEY (id),
    CONSTRAINT org_members_org_id_user_id_key UNIQUE (org_id, user_id),
    CONSTRAINT org_members_references_orgs FOREIGN KEY (org_id) REFERENCES orgs(id) ON DELETE RESTRICT,
    CONSTRAINT org_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE RESTRICT
);

CREATE TABLE org_members_bkup_1514536731 (
    id integer,
    org_id integer,
    user_id_old text,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    user_id integer
);

CREATE TABLE org_invitations (
    id bigserial NOT NULL,
    org_id integer NOT NULL,
    sender_user_id integer NOT NULL,
    recipient_user_id integer NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    notified_at timestamp with time zone,
    responded_at timestamp with time zone,
    response_type boolean,
    revoked_at timestamp with time zone,
    deleted_at timestamp with time zone,
    CONSTRAINT org_invitations_pkey PRIMARY KEY (id),
    CONSTRAINT check_atomic_response CHECK ((responded_at IS NULL) = (response_type IS NULL)),
    CONSTRAINT check_single_use
        CHECK (responded_at IS NULL AND response_type IS NULL OR revoked_at IS NULL),
    CONSTRAINT org_invitations_org_id_fkey FOREIGN KEY (org_id) REFERENCES orgs(id),
    CONSTRAINT org_invitations_recipient_user_id_fkey FOREIGN KEY (recipient_user_id) REFERENCES users(id),
    CONSTRAINT org_invitations_sender_user_id_fkey FOREIGN KEY (sender_user_id) REFERENCES users(id)
);
CREATE UNIQUE INDEX org_invitations_singleflight ON org_invitations USING btree (org_id, recipient_user_id)
    WHERE responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL;
CREATE INDEX org_invitations_org_id ON org_invitations USING btree (org_id) WHERE deleted_at IS NULL;
CREATE INDEX org_invitations_recipient_user_id ON org_invitations USING btree (recipient_user_id)
    WHERE deleted_at IS NULL;

CREATE TABLE site_config (
    site_id uuid NOT NULL,
    initialized boolean NOT NULL DEFAULT false,
    CONSTRAINT site_config_pkey PRIMARY KEY (site_id)
);

-- Settings ------------------------------------------------------------------------------------

CREATE TABLE settings (
    id serial NOT NULL,
    org_id integer,
    contents text,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    user_id integer,
    author_user_id integer,
    CONSTRAINT settings_pkey PRIMARY KEY (id),
    CONSTRAINT settings_author_user_id_fkey FOREIGN KEY (author_user_id) REFERENCES users(id) ON DELETE RESTRICT,
    CONSTRAINT settings_references_orgs FOREIGN KEY (org_id) REFERENCES orgs(id) ON DELETE RESTRICT,
    CONSTRAINT settings_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE RESTRICT
);

CREATE TABLE settings_bkup_1514702776 (
    id integer,
    org_id integer,
    author_user_id_old text,
    contents text,
    created_at timestamp with time zone,
    user_id integer,
    author_user_id integer
);

-- Extension registry --------------------------------------------------------------------------

CREATE TABLE registry_extensions (
    id serial NOT NULL,
    uuid uuid NOT NULL,
    publisher_user_id integer,
    publisher_org_id integer,
    name citext NOT NULL,
    manifest text,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    deleted_at timestamp with time zone,
    CONSTRAINT registry_extensions_pkey PRIMARY KEY (id),
    CONSTRAINT registry_extensions_name_length
        CHECK (char_length(name::text) > 0 AND char_length(name::text) <= 128),
    CONSTRAINT registry_extensions_name_valid_chars
        CHECK (name ~ '^[a-zA-Z0-9](?:[a-zA-Z0-9]|[_.-](?=[a-zA-Z0-9]))*$'::citext),
    CONSTRAINT registry_extensions_single_publisher
        CHECK ((publisher_user_id IS NULL) <> (publisher_org_id IS NULL)),
    CONSTRAINT registry_extensions_publisher_org_id_fkey FOREIGN KEY (publisher_org_id) REFERENCES orgs(id),
    CONSTRAINT registry_extensions_publisher_user_id_fkey FOREIGN KEY (publisher_user_id) REFERENCES users(id)
);
CREATE UNIQUE INDEX registry_extensions_publisher_name ON registry_extensions
    USING btree ((COALESCE(publisher_user_id, 0)), (COALESCE(publisher_org_id, 0)), name)
    WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX registry_extensions_uuid ON registry_extensions USING btree (uuid);

CREATE TABLE registry_extension_releases (
    id bigserial NOT NULL,
    registry_extension_id integer NOT NULL,
    creator_user_id integer NOT NULL,
    release_version citext,
    release_tag citext NOT NULL,
    manifest text NOT NULL,
    bundle text,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    deleted_at timestamp with time zone,
    source_map text,
    CONSTRAINT registry_extension_releases_pkey PRIMARY KEY (id),
    CONSTRAINT registry_extension_releases_creator_user_id_fkey
        FOREIGN KEY (creator_user_id) REFERENCES users(id),
    CONSTRAINT registry_extension_releases_registry_extension_id_fkey
        FOREIGN KEY (registry_extension_id) REFERENCES registry_extensions(id) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE UNIQUE INDEX registry_extension_releases_version ON registry_extension_releases
    USING btree (registry_extension_id, release_version) WHERE release_version IS NOT NULL;
CREATE INDEX registry_extension_releases_registry_extension_id ON registry_extension_releases
    USING btree (registry_extension_id, release_tag, created_at DESC) WHERE deleted_at IS NULL;

-- Repositories and the package index ----------------------------------------------------------

CREATE TABLE repo (
    id serial NOT NULL,
    uri citext NOT NULL,
    description text,
    language text,
    fork boolean,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone,
    pushed_at timestamp with time zone,
    indexed_revision text,
    freeze_indexed_revision boolean,
    external_id text,
    external_service_type text,
    external_service_id text,
    enabled boolean NOT NULL DEFAULT true,
    archived boolean NOT NULL DEFAULT false,
    CONSTRAINT repo_pkey PRIMARY KEY (id),
    CONSTRAINT check_external CHECK (
        external_id IS NULL AND external_service_type IS NULL AND external_service_id IS NULL
        OR external_id IS NOT NULL AND external_service_type IS NOT NULL AND external_service_id IS NOT NULL),
    CONSTRAINT check_uri_nonempty CHECK (uri <> ''::citext)
);
CREATE UNIQUE INDEX repo_uri_unique ON repo USING btree (uri);
CREATE INDEX repo_uri_trgm ON repo USING gin (lower(uri::text) gin_trgm_ops);

CREATE TABLE pkgs (
    repo_id integer NOT NULL,
    language text NOT NULL,
    pkg jsonb NOT NULL,
    CONSTRAINT pkgs_repo_id FOREIGN KEY (repo_id) REFERENCES repo(id) ON DELETE RESTRICT
);
CREATE INDEX pkg_lang_idx ON pkgs USING btree (language);
CREATE INDEX pkg_pkg_idx ON pkgs USING gin (pkg jsonb_path_ops);
CREATE INDEX pkg_repo_idx ON pkgs USING btree (repo_id);

CREATE TABLE global_dep (
    language text NOT NULL,
    dep_data jsonb NOT NULL,
    repo_id integer NOT NULL,
    hints jsonb,
    CONSTRAINT global_dep_repo_id FOREIGN KEY (repo_id) REFERENCES repo(id) ON DELETE RESTRICT
);
CREATE INDEX global_dep_idx_package ON global_dep USING btree ((dep_data ->> ('package'::text COLLATE "C")));
CREATE INDEX global_dep_idxgin ON global_dep USING gin (dep_data jsonb_path_ops);
CREATE INDEX global_dep_language ON global_dep USING btree (language);
CREATE INDEX global_dep_repo_id ON global_dep USING btree (repo_id);

CREATE TABLE phabricator_repos (
    id serial NOT NULL,
    callsign citext NOT NULL,
    uri citext NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    deleted_at timestamp with time zone,
    url text NOT NULL DEFAULT ''::text,
    CONSTRAINT phabricator_repos_pkey PRIMARY KEY (id),
    CONSTRAINT phabricator_repos_uri_key UNIQUE (uri)
);

-- Discussions (discussion_threads and discussion_threads_target_repo reference each other, so the
-- two foreign keys that close the circle are added after both tables exist) -------------------

CREATE TABLE discussion_threads (
    id bigserial NOT NULL,
    author_user_id integer NOT NULL,
    title text,
    target_repo_id bigint,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    archived_at timestamp with time zone,
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    deleted_at timestamp with time zone,
    CONSTRAINT discussion_threads_pkey PRIMARY KEY (id),
    CONSTRAINT discussion_threads_author_user_id_fkey
        FOREIGN KEY (author_user_id) REFERENCES users(id) ON DELETE RESTRICT
);
CREATE INDEX discussion_threads_author_user_id_idx ON discussion_threads USING btree (author_user_id);
CREATE INDEX discussion_threads_id_idx ON discussion_threads USING btree (id);

CREATE TABLE discussion_threads_target_repo (
    id bigserial NOT NULL,
    thread_id bigint NOT NULL,
    repo_id integer NOT NULL,
    path text,
    branch text,
    revision text,
    start_line integer,
    end_line integer,
    start_character integer,
    end_character integer,
    lines_before text,
    lines text,
    lines_after text,
    CONSTRAINT discussion_threads_target_repo_pkey PRIMARY KEY (id),
    CONSTRAINT discussion_threads_target_repo_repo_id_fkey
        FOREIGN KEY (repo_id) REFERENCES repo(id) ON DELETE RESTRICT
);
CREATE INDEX discussion_threads_target_repo_repo_id_path_idx ON discussion_threads_target_repo
    USING btree (repo_id, path);

ALTER TABLE discussion_threads ADD CONSTRAINT discussion_threads_target_repo_id_fk
    FOREIGN KEY (target_repo_id) REFERENCES discussion_threads_target_repo(id) ON DELETE RESTRICT;
ALTER TABLE discussion_threads_target_repo ADD CONSTRAINT discussion_threads_target_repo_thread_id_fkey
    FOREIGN KEY (thread_id) REFERENCES discussion_threads(id) ON DELETE RESTRICT;

CREATE TABLE discussion_comments (
    id bigserial NOT NULL,
    thread_id bigint NOT NULL,
    author_user_id integer NOT NULL,
    contents text NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    deleted_at timestamp with time zone,
    reports text[] NOT NULL DEFAULT '{}'::text[],
    CONSTRAINT discussion_comments_pkey PRIMARY KEY (id),
    CONSTRAINT discussion_comments_author_user_id_fkey
        FOREIGN KEY (author_user_id) REFERENCES users(id) ON DELETE RESTRICT,
    CONSTRAINT discussion_comments_thread_id_fkey
        FOREIGN KEY (thread_id) REFERENCES discussion_threads(id) ON DELETE RESTRICT
);
CREATE INDEX discussion_comments_author_user_id_idx ON discussion_comments USING btree (author_user_id);
CREATE INDEX discussion_comments_reports_array_length_idx ON discussion_comments
    USING btree (array_length(reports, 1));
CREATE INDEX discussion_comments_thread_id_idx ON discussion_comments USING btree (thread_id);

CREATE TABLE discussion_mail_reply_tokens (
    token text NOT NULL,
    user_id integer NOT NULL,
    thread_id bigint NOT NULL,
    deleted_at timestamp with time zone,
    CONSTRAINT discussion_mail_reply_tokens_pkey PRIMARY KEY (token),
    CONSTRAINT discussion_mail_reply_tokens_thread_id_fkey
        FOREIGN KEY (thread_id) REFERENCES discussion_threads(id) ON DELETE RESTRICT,
    CONSTRAINT discussion_mail_reply_tokens_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE RESTRICT
);
CREATE INDEX discussion_mail_reply_tokens_token_idx ON discussion_mail_reply_tokens USING btree (token);
CREATE INDEX discussion_mail_reply_tokens_user_id_thread_id_idx ON discussion_mail_reply_tokens
    USING btree (user_id, thread_id);

-- Product subscriptions, surveys, saved queries, certificate cache ---------------------------

CREATE TABLE product_subscriptions (
    id uuid NOT NULL,
    user_id integer NOT NULL,
    billing_subscription_id text,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    archived_at timestamp with time zone,
    CONSTRAINT product_subscriptions_pkey PRIMARY KEY (id),
    CONSTRAINT product_subscriptions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id)
);

CREATE TABLE product_licenses (
    id uuid NOT NULL,
    product_subscription_id uuid NOT NULL,
    license_key text NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT product_licenses_pkey PRIMARY KEY (id),
    CONSTRAINT product_licenses_product_subscription_id_fkey
        FOREIGN KEY (product_subscription_id) REFERENCES product_subscriptions(id)
);

CREATE TABLE survey_responses (
    id bigserial NOT NULL,
    user_id integer,
    email text,
    score integer NOT NULL,
    reason text,
    better text,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    CONSTRAINT survey_responses_pkey PRIMARY KEY (id),
    CONSTRAINT survey_responses_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id)
);

CREATE TABLE saved_queries (
    query text NOT NULL,
    last_executed timestamp with time zone NOT NULL,
    latest_result timestamp with time zone NOT NULL,
    exec_duration_ns bigint NOT NULL
);
CREATE UNIQUE INDEX saved_queries_query_unique ON saved_queries USING btree (query);

CREATE TABLE cert_cache (
    id bigserial NOT NULL,
    cache_key text NOT NULL,
    b64data text NOT NULL,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone NOT NULL DEFAULT now(),
    deleted_at timestamp with time zone,
    CONSTRAINT cert_cache_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX cert_cache_key_idx ON cert_cache USING btree (cache_key);
