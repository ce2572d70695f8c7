CREATE TABLE appointments (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id          BIGINT NOT NULL,
    doctor_id           BIGINT NOT NULL,
    start_at            BIGINT NOT NULL,
    end_at              BIGINT NOT NULL,
    description         TEXT   NOT NULL,
    service_type        TEXT,
    status              TEXT   NOT NULL
        CHECK (status IN ('REQUESTED', 'APPROVED', 'REJECTED', 'CANCELLED', 'COMPLETED', 'NO_SHOW')),
    cancellation_reason TEXT,
    rejection_reason    TEXT,
    late_cancellation   BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    -- Visits last at most 8 hours; the overlap checks rely on this bound to stay index range scans.
    CHECK (end_at > start_at AND end_at - start_at <= 28800000)
);
CREATE INDEX appointments_doctor_start ON appointments (doctor_id, start_at);
CREATE INDEX appointments_patient_start ON appointments (patient_id, start_at);
CREATE INDEX appointments_start ON appointments (start_at);

-- SQLite has no exclusion constraints. These triggers are the named exception: they refuse an
-- active appointment overlapping another active one of the same doctor or patient. SQLite runs
-- one writer at a time and a trigger runs inside the writing statement, so the check and the
-- write cannot interleave with another writer's: this is as race-free as PostgreSQL's EXCLUDE.
CREATE TRIGGER appointments_no_overlap_insert
BEFORE INSERT ON appointments
WHEN NEW.status IN ('REQUESTED', 'APPROVED')
BEGIN
    SELECT RAISE(ABORT, 'appointments_doctor_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM appointments
        WHERE doctor_id = NEW.doctor_id
          AND status IN ('REQUESTED', 'APPROVED')
          AND start_at > NEW.start_at - 28800000
          AND start_at < NEW.end_at
          AND end_at > NEW.start_at);
    SELECT RAISE(ABORT, 'appointments_patient_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM appointments
        WHERE patient_id = NEW.patient_id
          AND status IN ('REQUESTED', 'APPROVED')
          AND start_at > NEW.start_at - 28800000
          AND start_at < NEW.end_at
          AND end_at > NEW.start_at);
END;

CREATE TRIGGER appointments_no_overlap_update
BEFORE UPDATE OF start_at, end_at, status ON appointments
WHEN NEW.status IN ('REQUESTED', 'APPROVED')
BEGIN
    SELECT RAISE(ABORT, 'appointments_doctor_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM appointments
        WHERE doctor_id = NEW.doctor_id
          AND id <> NEW.id
          AND status IN ('REQUESTED', 'APPROVED')
          AND start_at > NEW.start_at - 28800000
          AND start_at < NEW.end_at
          AND end_at > NEW.start_at);
    SELECT RAISE(ABORT, 'appointments_patient_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM appointments
        WHERE patient_id = NEW.patient_id
          AND id <> NEW.id
          AND status IN ('REQUESTED', 'APPROVED')
          AND start_at > NEW.start_at - 28800000
          AND start_at < NEW.end_at
          AND end_at > NEW.start_at);
END;

-- A retried booking with the same Idempotency-Key gets the first answer back.
CREATE TABLE idempotency_keys (
    idempotency_key TEXT   PRIMARY KEY,
    request_hash    TEXT   NOT NULL,
    appointment_id  BIGINT NOT NULL,
    response        TEXT   NOT NULL,
    created_at      BIGINT NOT NULL
);
