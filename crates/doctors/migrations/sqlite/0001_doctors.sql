CREATE TABLE doctors (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT   NOT NULL,
    email         TEXT   NOT NULL,
    phone         TEXT   NOT NULL,
    speciality    TEXT   NOT NULL,
    gender        TEXT,
    available     BIGINT NOT NULL,
    slot_minutes  BIGINT NOT NULL,
    timezone      TEXT,
    auto_approve  BIGINT NOT NULL,
    -- 0 until a schedule is stored: the doctor works the default week.
    has_schedule  BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX doctors_email_unique ON doctors (email);
CREATE INDEX doctors_speciality_lower ON doctors (lower(speciality));

-- Weekly working hours in the doctor's local time: ISO weekday (1 = Monday) and minutes since
-- midnight, `[start_minute, end_minute)`.
CREATE TABLE doctor_working_hours (
    doctor_id     BIGINT NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
    weekday       BIGINT NOT NULL,
    start_minute  BIGINT NOT NULL,
    end_minute    BIGINT NOT NULL,
    PRIMARY KEY (doctor_id, weekday, start_minute)
);

CREATE TABLE doctor_time_off (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    doctor_id     BIGINT NOT NULL REFERENCES doctors (id) ON DELETE CASCADE,
    starts_at     BIGINT NOT NULL,
    ends_at       BIGINT NOT NULL,
    reason        TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX doctor_time_off_doctor_ends ON doctor_time_off (doctor_id, ends_at);
