-- Migration 4: the current settings of a subject are its newest row; find it without scanning.
CREATE INDEX settings_user_newest ON settings (user_id, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX settings_org_newest ON settings (org_id, id DESC) WHERE org_id IS NOT NULL;
