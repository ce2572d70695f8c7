-- A new medical record is a kind of notification too.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'APPROVAL_REQUEST', 'CONFIRMATION', 'REJECTION', 'CANCELLATION', 'RESCHEDULING', 'REMINDER',
    'MESSAGE', 'NEW_RECORD'));
