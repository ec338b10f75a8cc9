-- name: site
SELECT site_id, initialized FROM site_config LIMIT 1

-- name: schema_state
SELECT version, dirty FROM schema_migrations LIMIT 1

-- name: insert_survey_response
INSERT INTO survey_responses (user_id, email, score, reason, better)
VALUES (:user_id, :email, :score, :reason, :better)
RETURNING id

-- name: survey_responses_newest_first
SELECT s.id, u.username::text AS username, s.email, s.score, s.reason, s.better, s.created_at
  FROM survey_responses s LEFT JOIN users u ON u.id = s.user_id
 WHERE s.created_at >= :since AND s.created_at < :until
   AND (:before_id::bigint IS NULL OR s.id < :before_id)
 ORDER BY s.id DESC
 LIMIT :limit

-- name: net_promoter_score
SELECT count(*) AS responses,
       count(*) FILTER (WHERE score >= 9) AS promoters,
       count(*) FILTER (WHERE score BETWEEN 7 AND 8) AS passives,
       count(*) FILTER (WHERE score <= 6) AS detractors
  FROM survey_responses
 WHERE created_at >= :since AND created_at < :until

-- name: record_saved_query
-- Upsert by the query text (saved_queries_query_unique).
INSERT INTO saved_queries (query, last_executed, latest_result, exec_duration_ns)
VALUES (:query, :last_executed, :latest_result, :exec_duration_ns)
    ON CONFLICT (query) DO UPDATE
   SET last_executed = EXCLUDED.last_executed,
       latest_result = EXCLUDED.latest_result,
       exec_duration_ns = EXCLUDED.exec_duration_ns
RETURNING query, last_executed, latest_result, exec_duration_ns

-- name: saved_queries_by_text
SELECT query, last_executed, latest_result, exec_duration_ns
  FROM saved_queries
 WHERE :after::text IS NULL OR query > :after
 ORDER BY query
 LIMIT :limit

-- name: insert_phabricator_repo
-- Nothing when the URI is already mapped (phabricator_repos_uri_key); a deleted mapping is brought
-- back rather than blocking its URI forever.
INSERT INTO phabricator_repos (callsign, uri, url) VALUES (:callsign, :uri, :url)
    ON CONFLICT (uri) DO UPDATE
   SET callsign = EXCLUDED.callsign, url = EXCLUDED.url, deleted_at = NULL, updated_at = now()
 WHERE phabricator_repos.deleted_at IS NOT NULL
RETURNING id, callsign::text, uri::text, url, created_at, updated_at

-- name: phabricator_repos_by_id
SELECT id, callsign::text, uri::text, url, created_at, updated_at
  FROM phabricator_repos
 WHERE deleted_at IS NULL AND (:after_id::integer IS NULL OR id > :after_id)
 ORDER BY id
 LIMIT :limit

-- name: delete_phabricator_repo
UPDATE phabricator_repos SET deleted_at = now(), updated_at = now() WHERE id = :repo_id AND deleted_at IS NULL
