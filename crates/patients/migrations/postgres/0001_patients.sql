CREATE TABLE patients (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              TEXT   NOT NULL,
    email             TEXT   NOT NULL,
    phone             TEXT   NOT NULL,
    dob               TEXT   NOT NULL,
    address           TEXT   NOT NULL,
    medical_history   TEXT,
    registration_date BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX patients_email_unique ON patients (email);
CREATE INDEX patients_name_lower ON patients (lower(name));
