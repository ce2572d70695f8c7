-- Notifications, one row per recipient, kind and channel, and the reminders still to send.
-- Rows hold ids and times (facts); contact data is fetched from its owners at delivery time.

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient_type  TEXT    NOT NULL CHECK (recipient_type IN ('PATIENT', 'DOCTOR')),
    recipient_id    BIGINT  NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('EMAIL', 'SMS', 'IN_APP')),
    kind            TEXT    NOT NULL CHECK (kind IN ('APPROVAL_REQUEST', 'CONFIRMATION',
                        'REJECTION', 'CANCELLATION', 'RESCHEDULING', 'REMINDER', 'MESSAGE')),
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

CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_recipient ON notifications (recipient_type, recipient_id, id);

CREATE TABLE reminders (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    appointment_id  BIGINT  NOT NULL,
    offset_minutes  BIGINT  NOT NULL,
    patient_id      BIGINT  NOT NULL,
    doctor_id       BIGINT  NOT NULL,
    start_at        BIGINT  NOT NULL,
    due_at          BIGINT  NOT NULL,
    status          TEXT    NOT NULL
        CHECK (status IN ('SCHEDULED', 'SENT', 'CANCELLED', 'EXPIRED')),
    CONSTRAINT reminders_appointment_offset UNIQUE (appointment_id, offset_minutes)
);

CREATE INDEX reminders_due ON reminders (status, due_at);
