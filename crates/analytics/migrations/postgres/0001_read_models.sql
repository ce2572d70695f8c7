-- Read models built from events. Each fact (an appointment, an invoice, a registration, a
-- record) keeps what it contributes to the counters, so a newer version of it moves the
-- counts (the old contribution out, the new one in) and a stale or repeated one changes
-- nothing. Days are clinic-local dates, `YYYY-MM-DD`.

-- Per appointment: the newest version applied and its contribution.
CREATE TABLE appointment_facts (
    appointment_id BIGINT PRIMARY KEY,
    version        BIGINT NOT NULL,
    day            TEXT   NOT NULL,
    doctor_id      BIGINT NOT NULL,
    status         TEXT   NOT NULL,
    late           BIGINT NOT NULL
);

-- Appointments per day, doctor, status and late-cancellation flag (groupBy doctor, speciality).
CREATE TABLE appointment_counts (
    day       TEXT   NOT NULL,
    doctor_id BIGINT NOT NULL,
    status    TEXT   NOT NULL,
    late      BIGINT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (day, doctor_id, status, late)
);

-- The same per day only, so a year's summary reads a few thousand rows at most.
CREATE TABLE daily_appointment_counts (
    day    TEXT   NOT NULL,
    status TEXT   NOT NULL,
    late   BIGINT NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (day, status, late)
);

-- Each doctor's speciality, from the newest doctor event that carried it. Appointments are
-- grouped by speciality when read, so a speciality learned late still counts them.
CREATE TABLE doctor_specialities (
    doctor_id  BIGINT PRIMARY KEY,
    speciality TEXT   NOT NULL,
    version    BIGINT NOT NULL
);

-- Per invoice: the newest version applied and its contribution to revenue.
CREATE TABLE invoice_facts (
    invoice_id    BIGINT PRIMARY KEY,
    version       BIGINT NOT NULL,
    invoiced_day  TEXT   NOT NULL,
    invoiced      BIGINT NOT NULL,
    paid_day      TEXT,
    paid          BIGINT NOT NULL
);

CREATE TABLE daily_revenue (
    day      TEXT   PRIMARY KEY,
    invoiced BIGINT NOT NULL,
    paid     BIGINT NOT NULL
);

-- Things counted once each on the day they happened: `patient` registrations, `record`s.
CREATE TABLE counted_once (
    kind      TEXT   NOT NULL,
    entity_id BIGINT NOT NULL,
    day       TEXT   NOT NULL,
    PRIMARY KEY (kind, entity_id)
);

CREATE TABLE daily_counts (
    day  TEXT   NOT NULL,
    kind TEXT   NOT NULL,
    n    BIGINT NOT NULL,
    PRIMARY KEY (day, kind)
);
