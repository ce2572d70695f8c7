CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE appointments (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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

-- Two active appointments of one doctor (or one patient) never overlap, whatever the
-- concurrency: the database refuses the second writer.
ALTER TABLE appointments ADD CONSTRAINT appointments_doctor_no_overlap
    EXCLUDE USING gist (doctor_id WITH =, int8range(start_at, end_at) WITH &&)
    WHERE (status IN ('REQUESTED', 'APPROVED'));
ALTER TABLE appointments ADD CONSTRAINT appointments_patient_no_overlap
    EXCLUDE USING gist (patient_id WITH =, int8range(start_at, end_at) WITH &&)
    WHERE (status IN ('REQUESTED', 'APPROVED'));

-- A retried booking with the same Idempotency-Key gets the first answer back.
CREATE TABLE idempotency_keys (
    idempotency_key TEXT   PRIMARY KEY,
    request_hash    TEXT   NOT NULL,
    appointment_id  BIGINT NOT NULL,
    response        TEXT   NOT NULL,
    created_at      BIGINT NOT NULL
);
