-- The newest state of each appointment this service has seen, by the version its events carry
-- (the appointment's `updated_at` in epoch milliseconds). Events may arrive out of order;
-- reminders follow this state, so a late event cannot revive or move them.

CREATE TABLE appointment_states (
    appointment_id  BIGINT  NOT NULL PRIMARY KEY,
    version         BIGINT  NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('REQUESTED', 'APPROVED', 'REJECTED',
                        'CANCELLED', 'COMPLETED', 'NO_SHOW')),
    start_at        BIGINT  NOT NULL
);
