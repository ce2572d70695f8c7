-- Idempotency keys expire; the sweep on every booking deletes by age.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
-- Counting a patient's active future appointments (the booking limit) reads this index.
CREATE INDEX appointments_patient_status_start ON appointments (patient_id, status, start_at);
