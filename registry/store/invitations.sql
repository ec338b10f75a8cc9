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
SELECT * FROM live_org_invitations WHERE id = :invitation_id

-- name: lock_invitation
-- The row locked until the transaction ends; a statement of its own, so that the lock is on the
-- invitation alone (through live_org_invitations it would be on its org and users too).
SELECT FROM org_invitations WHERE id = :invitation_id FOR UPDATE

-- name: pending_for_recipient
-- Marks the page notified. The CTE's new notified_at is not visible to the outer read of
-- live_org_invitations (one snapshot), so the outer query takes it from the CTE. Invitations whose
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
SELECT i.id, i.org_id, i.org, i.sender, i.recipient, i.recipient_user_id, i.sender_user_id, i.created_at,
       seen.notified_at, i.responded_at, i.accepted, i.revoked_at, i.sender_may_invite
  FROM live_org_invitations i
  JOIN seen ON seen.id = i.id
 WHERE i.sender_may_invite
 ORDER BY i.id

-- name: respond
UPDATE org_invitations SET responded_at = now(), response_type = :accept
 WHERE id = :invitation_id AND responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL

-- name: revoke
UPDATE org_invitations SET revoked_at = now()
 WHERE id = :invitation_id AND responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL

-- name: pending_for_org
SELECT * FROM live_org_invitations
 WHERE org_id = :org_id AND responded_at IS NULL AND revoked_at IS NULL AND id > :after_id
 ORDER BY id
 LIMIT :limit

-- name: revoke_sent_by
-- What :sender_id sent (to :org_id, or to any org when NULL) carried authority they no longer have.
UPDATE org_invitations SET revoked_at = now()
 WHERE sender_user_id = :sender_id AND (:org_id::integer IS NULL OR org_id = :org_id::integer)
   AND responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL
