-- Who read or changed which patient's data, when, through which endpoint, with what outcome.
-- Ids and names of things only: never the data itself.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT NOT NULL,
    service     TEXT   NOT NULL,
    actor_id    BIGINT NOT NULL,
    actor_role  TEXT   NOT NULL,
    patient_id  BIGINT,
    action      TEXT   NOT NULL,
    resource    TEXT   NOT NULL,
    outcome     TEXT   NOT NULL,
    endpoint    TEXT   NOT NULL,
    request_id  TEXT   NOT NULL
);
CREATE INDEX audit_log_patient ON audit_log (patient_id, at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);
CREATE INDEX audit_log_at ON audit_log (at);

-- Append-only: the database refuses changes and deletions.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
