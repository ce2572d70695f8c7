-- A new medical record is a kind of notification too. SQLite cannot change a CHECK
-- constraint in place: the table is rebuilt with the same columns, in the same order.
CREATE TABLE notifications_rebuilt (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient_type  TEXT    NOT NULL CHECK (recipient_type IN ('PATIENT', 'DOCTOR')),
    recipient_id    BIGINT  NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('EMAIL', 'SMS', 'IN_APP')),
    kind            TEXT    NOT NULL CHECK (kind IN ('APPROVAL_REQUEST', 'CONFIRMATION',
                        'REJECTION', 'CANCELLATION', 'RESCHEDULING', 'REMINDER', 'MESSAGE',
                        'NEW_RECORD')),
    appointment_id  BIGINT,
    facts           TEXT    NOT NULL,
    subject         TEXT,
    message         TEXT,
    status          TEXT    NOT NULL CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT,
    next_attempt_at BIGINT  NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    dedupe_key      TEXT    NOT NULL,
    CONSTRAINT notifications_dedupe_key UNIQUE (dedupe_key)
);
INSERT INTO notifications_rebuilt SELECT * FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_rebuilt RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_recipient ON notifications (recipient_type, recipient_id, id);
