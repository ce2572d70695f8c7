-- 1 when the profile belongs to an account (created by the identity service at registration):
-- its e-mail is then the account's login e-mail and changes through identity only.
ALTER TABLE patients ADD COLUMN has_account BIGINT NOT NULL DEFAULT 0;
