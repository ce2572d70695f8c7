-- User accounts. E-mails are stored lower-cased, so the unique index ignores case. `active` is
-- 0 while registration creates the account's profile in another service: such an account
-- cannot log in, and it is deleted again when the profile cannot be created.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT   NOT NULL,
    password_hash  TEXT   NOT NULL,
    role           TEXT   NOT NULL,
    patient_id     BIGINT,
    doctor_id      BIGINT,
    active         BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email_unique ON users (email);

-- Refresh tokens: only the SHA-256 of each token is kept. Every rotation adds a row to the
-- token's family; presenting a used or revoked token revokes the whole family.
CREATE TABLE refresh_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    family_id   TEXT   NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX refresh_tokens_hash_unique ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Ed25519 keys that sign access tokens. The JWKS publishes every key not retired; the newest
-- one signs (see the key rotation procedure in the crate's README).
CREATE TABLE signing_keys (
    kid          TEXT   PRIMARY KEY,
    -- base64 of the PKCS#8 DER private key
    private_key  TEXT   NOT NULL,
    -- base64url of the 32-byte public key (the JWK's `x`)
    public_key   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    retired_at   BIGINT
);

-- Failed logins per scope (an account's e-mail or a client address, both as SHA-256), shared by
-- every identity instance.
CREATE TABLE login_failures (
    scope            TEXT   PRIMARY KEY,
    failures         BIGINT NOT NULL,
    last_failure_at  BIGINT NOT NULL,
    locked_until     BIGINT NOT NULL
);
