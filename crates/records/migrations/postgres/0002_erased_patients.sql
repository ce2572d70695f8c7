-- Patients erased (GDPR): their records are kept, pseudonymized (they name the patient by id
-- only and their text is sealed), until the retention period has passed; then the retention
-- job removes them with their files.
CREATE TABLE erased_patients (
    patient_id BIGINT PRIMARY KEY,
    erased_at  BIGINT NOT NULL
);
