-- One invoice per appointment, following it: created on approval, voided on a timely
-- cancellation or a rejection, turned into a fee on a late cancellation or a no-show.
-- Money is integer minor units of an ISO 4217 currency.
CREATE TABLE invoices (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appointment_id BIGINT NOT NULL UNIQUE,
    patient_id     BIGINT NOT NULL,
    doctor_id      BIGINT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount >= 0),
    currency       TEXT   NOT NULL,
    kind           TEXT   NOT NULL,
    payment_status TEXT   NOT NULL,
    payment_type   TEXT,
    created_at     BIGINT NOT NULL,
    paid_at        BIGINT,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX invoices_patient ON invoices (patient_id, id);
CREATE INDEX invoices_status ON invoices (payment_status, id);

-- The newest version of each appointment seen, so that a stale event arriving late (several
-- consumers, redeliveries) changes nothing.
CREATE TABLE appointment_versions (
    appointment_id BIGINT PRIMARY KEY,
    version        BIGINT NOT NULL
);
