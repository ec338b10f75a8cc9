-- name: insert_thread
INSERT INTO discussion_threads (author_user_id, title) VALUES (:author_id, :title) RETURNING id

-- name: insert_target
-- A thread's target; the fields not given are NULL.
INSERT INTO discussion_threads_target_repo (thread_id, repo_id, path, branch, revision, start_line, end_line,
  start_character, end_character, lines_before, lines, lines_after)
VALUES (:thread_id, :repo_id, :path, :branch, :revision, :start_line, :end_line,
  :start_character, :end_character, :lines_before, :lines, :lines_after)
RETURNING id

-- name: set_thread_target
UPDATE discussion_threads SET target_repo_id = :target_id WHERE id = :thread_id

-- name: thread_by_id
-- A thread that is not deleted, with its target (live_discussion_threads).
SELECT * FROM live_discussion_threads WHERE id = :thread_id

-- name: lock_thread
-- The thread's row locked FOR NO KEY UPDATE: writes to the thread serialise, while comments may
-- still be inserted meanwhile (their foreign key only needs KEY SHARE). A statement of its own:
-- FOR NO KEY UPDATE cannot reach through live_discussion_threads' outer joins.
SELECT FROM discussion_threads WHERE id = :thread_id FOR NO KEY UPDATE

-- name: list_threads
-- Threads about a repository, in id order, through discussion_threads_target_repo_repo_id_path_idx.
SELECT * FROM live_discussion_threads
 WHERE repo_id = :repo_id AND (:include_archived OR archived_at IS NULL) AND id > :after_id
 ORDER BY id LIMIT :limit

-- name: list_threads_at_path
-- Threads about one path of a repository: a statement of its own, so that the index's path column
-- serves it whatever plan PostgreSQL caches.
SELECT * FROM live_discussion_threads
 WHERE repo_id = :repo_id AND path = :path AND (:include_archived OR archived_at IS NULL) AND id > :after_id
 ORDER BY id LIMIT :limit

-- name: archive_thread
-- Idempotent: an archived thread keeps its first archived_at.
UPDATE discussion_threads SET archived_at = coalesce(archived_at, now()), updated_at = now()
 WHERE id = :thread_id AND deleted_at IS NULL

-- name: soft_delete_thread
UPDATE discussion_threads SET deleted_at = now(), updated_at = now() WHERE id = :thread_id AND deleted_at IS NULL

-- name: insert_comment
WITH c AS (
  INSERT INTO discussion_comments (thread_id, author_user_id, contents)
  VALUES (:thread_id, :author_id, :contents) RETURNING *
)
SELECT c.id, c.thread_id, u.username::text AS author, c.author_user_id, c.contents, c.created_at, c.updated_at
  FROM c JOIN users u ON u.id = c.author_user_id

-- name: comment_by_id
-- A comment that is not deleted, in a thread that is not deleted.
SELECT c.id, c.thread_id, u.username::text AS author, c.author_user_id, c.contents, c.created_at, c.updated_at
  FROM discussion_comments c
  JOIN discussion_threads t ON t.id = c.thread_id AND t.deleted_at IS NULL
  JOIN users u ON u.id = c.author_user_id
 WHERE c.id = :comment_id AND c.deleted_at IS NULL

-- name: lock_comment
-- The comment's row locked until the transaction ends (the comment alone, not its thread or author).
SELECT FROM discussion_comments WHERE id = :comment_id FOR UPDATE

-- name: list_comments
SELECT c.id, c.thread_id, u.username::text AS author, c.author_user_id, c.contents, c.created_at, c.updated_at
  FROM discussion_comments c JOIN users u ON u.id = c.author_user_id
 WHERE c.thread_id = :thread_id AND c.deleted_at IS NULL AND c.id > :after_id
 ORDER BY c.id LIMIT :limit

-- name: update_comment
UPDATE discussion_comments SET contents = :contents, updated_at = now() WHERE id = :comment_id AND deleted_at IS NULL

-- name: soft_delete_comment
UPDATE discussion_comments SET deleted_at = now(), updated_at = now() WHERE id = :comment_id AND deleted_at IS NULL

-- name: add_report
-- A report is "<reporter user id>:<reason>"; the UPDATE appends one only when the reporter has
-- none on the comment yet, so a user's second report changes nothing.
UPDATE discussion_comments SET reports = array_append(reports, :reporter::text || ':' || :reason)
 WHERE id = :comment_id AND deleted_at IS NULL
   AND NOT EXISTS (SELECT FROM unnest(reports) AS r(report) WHERE starts_with(r.report, :reporter::text || ':'))

-- name: most_reported
-- Reported comments (not deleted, in threads not deleted), most reports first, then newest first,
-- ordered on discussion_comments_reports_array_length_idx; after the key (:after_count, :after_id).
SELECT c.id, c.thread_id, u.username::text AS author, c.author_user_id, c.contents, c.created_at, c.updated_at,
       array_length(c.reports, 1) AS report_count,
       (SELECT jsonb_agg(jsonb_build_object(
                 'reporter', ru.username::text, 'reason', substr(rep.report, strpos(rep.report, ':') + 1))
               ORDER BY rep.n)
          FROM unnest(c.reports) WITH ORDINALITY AS rep(report, n)
          LEFT JOIN users ru ON ru.id::text = split_part(rep.report, ':', 1)) AS reports
  FROM discussion_comments c
  JOIN discussion_threads t ON t.id = c.thread_id AND t.deleted_at IS NULL
  JOIN users u ON u.id = c.author_user_id
 WHERE array_length(c.reports, 1) > 0 AND c.deleted_at IS NULL
   AND (:after_count::int IS NULL OR (array_length(c.reports, 1), c.id) < (:after_count::int, :after_id::bigint))
 ORDER BY array_length(c.reports, 1) DESC, c.id DESC LIMIT :limit

-- name: live_reply_token
-- The user's unrevoked reply token for the thread (looked up by owner, never by value).
SELECT token FROM discussion_mail_reply_tokens
 WHERE user_id = :user_id AND thread_id = :thread_id AND deleted_at IS NULL LIMIT 1

-- name: insert_reply_token
INSERT INTO discussion_mail_reply_tokens (token, user_id, thread_id) VALUES (:token, :user_id, :thread_id)

-- name: revoke_reply_tokens
UPDATE discussion_mail_reply_tokens SET deleted_at = now()
 WHERE user_id = :user_id AND thread_id = :thread_id AND deleted_at IS NULL

-- name: revoke_all_reply_tokens
UPDATE discussion_mail_reply_tokens SET deleted_at = now() WHERE user_id = :user_id AND deleted_at IS NULL

-- name: reply_token_holder
-- Who a live reply token belongs to (its user not deleted), by primary key; the row is locked
-- FOR SHARE so that a concurrent revocation waits for the reply being posted with it.
SELECT m.user_id, m.thread_id FROM discussion_mail_reply_tokens m
  JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL
 WHERE m.token = :token AND m.deleted_at IS NULL FOR SHARE OF m
