-- name: insert_invitation
-- org_invitations_singleflight allows one pending invitation per (org, recipient).
INSERT INTO org_invitations (org_id, sender_user_id, recipient_user_id)
VALUES (:org_id, :sender_id, :recipient_id)
RETURNING id

-- name: pending_invitation_id
SELECT id FROM org_invitations
 WHERE org_id = :org_id AND recipient_user_id = :recipient_id
   AND responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL

-- name: invitation_by_id
-- sender_may_invite: the sender is live and still a member of the org, or a site admin.
SELECT i.id, i.org_id, o.name::text AS org, s.username::text AS sender, r.username::text AS recipient,
       i.recipient_user_id, i.sender_user_id, i.created_at, i.notified_at, i.responded_at,
       i.response_type AS accepted, i.revoked_at,
       (s.deleted_at IS NULL AND (s.site_admin OR EXISTS (
           SELECT FROM org_members m WHERE m.org_id = i.org_id AND m.user_id = i.sender_user_id))) AS sender_may_invite
  FROM org_invitations i
  JOIN orgs o ON o.id = i.org_id AND o.deleted_at IS NULL
  JOIN users s ON s.id = i.sender_user_id
  JOIN users r ON r.id = i.recipient_user_id AND r.deleted_at IS NULL
 WHERE i.id = :invitation_id AND i.deleted_at IS NULL

-- name: invitation_by_id_for_update
SELECT i.id, i.org_id, o.name::text AS org, s.username::text AS sender, r.username::text AS recipient,
       i.recipient_user_id, i.sender_user_id, i.created_at, i.notified_at, i.responded_at,
       i.response_type AS accepted, i.revoked_at,
       (s.deleted_at IS NULL AND (s.site_admin OR EXISTS (
           SELECT FROM org_members m WHERE m.org_id = i.org_id AND m.user_id = i.sender_user_id))) AS sender_may_invite
  FROM org_invitations i
  JOIN orgs o ON o.id = i.org_id AND o.deleted_at IS NULL
  JOIN users s ON s.id = i.sender_user_id
  JOIN users r ON r.id = i.recipient_user_id AND r.deleted_at IS NULL
 WHERE i.id = :invitation_id AND i.deleted_at IS NULL
   FOR UPDATE OF i

-- name: pending_for_recipient
-- Marks the page notified. The CTE's new notified_at is not visible to the outer read of
-- org_invitations (one snapshot), so the outer query takes it from the CTE. Invitations whose
-- sender may no longer invite are not shown.
WITH seen AS (
    UPDATE org_invitations SET notified_at = coalesce(notified_at, now())
     WHERE id IN (SELECT id FROM org_invitations
                   WHERE recipient_user_id = :recipient_id AND responded_at IS NULL AND revoked_at IS NULL
                     AND deleted_at IS NULL AND id > :after_id
                   ORDER BY id
                   LIMIT :limit)
    RETURNING id, notified_at
)
SELECT i.id, i.org_id, o.name::text AS org, s.username::text AS sender, r.username::text AS recipient,
       i.recipient_user_id, i.sender_user_id, i.created_at, seen.notified_at, i.responded_at,
       i.response_type AS accepted, i.revoked_at,
       (s.deleted_at IS NULL AND (s.site_admin OR EXISTS (
           SELECT FROM org_members m WHERE m.org_id = i.org_id AND m.user_id = i.sender_user_id))) AS sender_may_invite
  FROM org_invitations i
  JOIN orgs o ON o.id = i.org_id AND o.deleted_at IS NULL
  JOIN users s ON s.id = i.sender_user_id
  JOIN users r ON r.id = i.recipient_user_id AND r.deleted_at IS NULL
  JOIN seen ON seen.id = i.id
 WHERE (s.deleted_at IS NULL AND (s.site_admin OR EXISTS (
           SELECT FROM org_members m WHERE m.org_id = i.org_id AND m.user_id = i.sender_user_id)))
 ORDER BY i.id

-- name: respond
UPDATE org_invitations SET responded_at = now(), response_type = :accept
 WHERE id = :invitation_id AND responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL

-- name: revoke
UPDATE org_invitations SET revoked_at = now()
 WHERE id = :invitation_id AND responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL

-- name: pending_for_org
SELECT i.id, i.org_id, o.name::text AS org, s.username::text AS sender, r.username::text AS recipient,
       i.recipient_user_id, i.sender_user_id, i.created_at, i.notified_at, i.responded_at,
       i.response_type AS accepted, i.revoked_at,
       (s.deleted_at IS NULL AND (s.site_admin OR EXISTS (
           SELECT FROM org_members m WHERE m.org_id = i.org_id AND m.user_id = i.sender_user_id))) AS sender_may_invite
  FROM org_invitations i
  JOIN orgs o ON o.id = i.org_id AND o.deleted_at IS NULL
  JOIN users s ON s.id = i.sender_user_id
  JOIN users r ON r.id = i.recipient_user_id AND r.deleted_at IS NULL
 WHERE i.org_id = :org_id AND i.responded_at IS NULL AND i.revoked_at IS NULL AND i.deleted_at IS NULL
   AND i.id > :after_id
 ORDER BY i.id
 LIMIT :limit

-- name: revoke_sent_by
-- What :sender_id sent (to :org_id, or to any org when NULL) carried authority they no longer have.
UPDATE org_invitations SET revoked_at = now()
 WHERE sender_user_id = :sender_id AND (:org_id::integer IS NULL OR org_id = :org_id::integer)
   AND responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL
