-- Patients erased (GDPR): their invoices are kept (they hold ids and amounts, no personal
-- data) until the retention period has passed; then the retention job removes them.
CREATE TABLE erased_patients (
    patient_id BIGINT PRIMARY KEY,
    erased_at  BIGINT NOT NULL
);
