-- Record ids are handed out before a record is written: an attachment is sealed with its
-- record's id as associated data while it streams in, before the record row exists.
CREATE TABLE record_ids (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    allocated_at BIGINT NOT NULL
);

-- Free text (title, content, file name) only as AEAD ciphertext; see src/seal.rs.
CREATE TABLE medical_records (
    id                 BIGINT PRIMARY KEY,
    patient_id         BIGINT NOT NULL,
    doctor_id          BIGINT NOT NULL,
    record_type        TEXT   NOT NULL,
    created_at         BIGINT NOT NULL,
    key_id             TEXT   NOT NULL,
    nonce              BYTEA  NOT NULL,
    sealed             BYTEA  NOT NULL,
    file_content_type  TEXT,
    file_size          BIGINT,
    file_sha256        TEXT,
    file_key_id        TEXT,
    file_nonce         BYTEA,
    file_object        TEXT
);
CREATE INDEX medical_records_patient ON medical_records (patient_id, id);

-- The newest known state of each appointment: a doctor cares for a patient while one of
-- their appointments together is APPROVED or COMPLETED.
CREATE TABLE care_relationships (
    appointment_id BIGINT PRIMARY KEY,
    patient_id     BIGINT NOT NULL,
    doctor_id      BIGINT NOT NULL,
    status         TEXT   NOT NULL,
    version        BIGINT NOT NULL
);
CREATE INDEX care_relationships_pair ON care_relationships (patient_id, doctor_id);
