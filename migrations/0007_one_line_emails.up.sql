-- Migration 7: an email address is one line with no spaces or control characters. A newline in
-- one forged lines in the mail log that carries verification codes; the API refuses
-- such addresses (422), and these checks keep every other path out. NOT VALID: rows written
-- before are left for an operator to look at, new and updated rows are checked.
ALTER TABLE user_emails
    ADD CONSTRAINT user_emails_email_one_line CHECK (email::text !~ '[[:cntrl:][:space:]]') NOT VALID;
ALTER TABLE survey_responses
    ADD CONSTRAINT survey_responses_email_one_line CHECK (email !~ '[[:cntrl:][:space:]]') NOT VALID;
