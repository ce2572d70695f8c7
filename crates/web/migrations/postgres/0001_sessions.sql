-- Browser sessions: the cookie holds a random id; only its SHA-256 is stored. The tokens are
-- the signed-in user's own, used for every API call the pages make on their behalf.
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    csrf_token TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    patient_id BIGINT,
    doctor_id BIGINT,
    access_token TEXT NOT NULL,
    access_expires_at BIGINT NOT NULL,
    refresh_token TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_last_seen ON web_sessions (last_seen_at);
