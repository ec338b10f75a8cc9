DROP INDEX settings_org_newest;
DROP INDEX settings_user_newest;
