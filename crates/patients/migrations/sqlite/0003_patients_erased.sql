-- Set when the patient was erased (GDPR): the row stays, pseudonymized, so that an erasure
-- asked again changes nothing; no endpoint shows it any more.
ALTER TABLE patients ADD COLUMN erased_at BIGINT;
