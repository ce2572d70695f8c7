//! Which appointment event tells whom what, and what becomes of the appointment's reminders.
//! Pure: the handler applies the plan inside the consumer's transaction.

use contracts::appointments::AppointmentStatus;
use contracts::events::{AppointmentChanged, MedicalRecordAdded, types};
use contracts::notifications::NotificationKind;

use crate::domain::{Facts, Recipient};

/// What the newest state of an appointment means for its reminders. The handler applies it
/// only when the event carries that newest state: a late event changes no reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderChange {
    /// Confirmed: one reminder per configured offset at the current start (re-armed if it moved).
    Arm,
    /// Not (or no longer) confirmed: scheduled reminders are dropped.
    Cancel,
}

impl ReminderChange {
    pub fn of(status: AppointmentStatus) -> Self {
        match status {
            AppointmentStatus::Approved => Self::Arm,
            _ => Self::Cancel,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub notices: Vec<(Recipient, NotificationKind)>,
    pub reminders: ReminderChange,
}

/// The plan for an appointment event; `None` for events this service ignores.
pub fn plan(event_type: &str, changed: &AppointmentChanged) -> Option<Plan> {
    use NotificationKind as K;
    let patient = Recipient::patient(changed.patient_id);
    let doctor = Recipient::doctor(changed.doctor_id);
    let both = |kind| vec![(patient, kind), (doctor, kind)];
    let notices = match event_type {
        // A doctor who approves automatically: the booking is confirmed at once.
        types::APPOINTMENT_REQUESTED if changed.status == AppointmentStatus::Approved => {
            both(K::Confirmation)
        }
        types::APPOINTMENT_REQUESTED => vec![(doctor, K::ApprovalRequest)],
        types::APPOINTMENT_APPROVED => both(K::Confirmation),
        types::APPOINTMENT_REJECTED => vec![(patient, K::Rejection)],
        types::APPOINTMENT_CANCELLED => both(K::Cancellation),
        types::APPOINTMENT_RESCHEDULED => both(K::Rescheduling),
        types::APPOINTMENT_COMPLETED | types::APPOINTMENT_NO_SHOW => Vec::new(),
        _ => return None,
    };
    Some(Plan {
        notices,
        reminders: ReminderChange::of(changed.status),
    })
}

/// Whether `event_type` is an appointment event.
pub fn is_appointment_event(event_type: &str) -> bool {
    event_type.starts_with("Appointment")
}

/// A new record is told to its patient, naming the doctor who wrote it (never its content,
/// which the event does not carry either).
pub fn record_notice(added: &MedicalRecordAdded) -> (Recipient, NotificationKind, Facts) {
    let facts = Facts {
        counterpart_id: Some(added.doctor_id),
        ..Facts::default()
    };
    (
        Recipient::patient(added.patient_id),
        NotificationKind::NewRecord,
        facts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn changed(status: AppointmentStatus) -> AppointmentChanged {
        AppointmentChanged {
            appointment_id: 7,
            patient_id: 1,
            doctor_id: 2,
            start: Timestamp::UNIX_EPOCH,
            end: Timestamp::UNIX_EPOCH,
            status,
            previous_start: None,
            late_cancellation: None,
            version: 1,
            service_type: None,
        }
    }

    #[test]
    fn each_event_tells_the_right_people() {
        use AppointmentStatus as S;
        use NotificationKind as K;
        let (p, d) = (Recipient::patient(1), Recipient::doctor(2));
        let cases = [
            (
                types::APPOINTMENT_REQUESTED,
                S::Requested,
                vec![(d, K::ApprovalRequest)],
                ReminderChange::Cancel,
            ),
            (
                types::APPOINTMENT_REQUESTED,
                S::Approved,
                vec![(p, K::Confirmation), (d, K::Confirmation)],
                ReminderChange::Arm,
            ),
            (
                types::APPOINTMENT_APPROVED,
                S::Approved,
                vec![(p, K::Confirmation), (d, K::Confirmation)],
                ReminderChange::Arm,
            ),
            (
                types::APPOINTMENT_REJECTED,
                S::Rejected,
                vec![(p, K::Rejection)],
                ReminderChange::Cancel,
            ),
            (
                types::APPOINTMENT_CANCELLED,
                S::Cancelled,
                vec![(p, K::Cancellation), (d, K::Cancellation)],
                ReminderChange::Cancel,
            ),
            (
                types::APPOINTMENT_RESCHEDULED,
                S::Approved,
                vec![(p, K::Rescheduling), (d, K::Rescheduling)],
                ReminderChange::Arm,
            ),
            (
                types::APPOINTMENT_RESCHEDULED,
                S::Requested,
                vec![(p, K::Rescheduling), (d, K::Rescheduling)],
                ReminderChange::Cancel,
            ),
            (
                types::APPOINTMENT_COMPLETED,
                S::Completed,
                vec![],
                ReminderChange::Cancel,
            ),
            (
                types::APPOINTMENT_NO_SHOW,
                S::NoShow,
                vec![],
                ReminderChange::Cancel,
            ),
        ];
        for (event, status, notices, reminders) in cases {
            let plan = plan(event, &changed(status)).unwrap();
            assert_eq!(plan, Plan { notices, reminders }, "{event} {status:?}");
        }
    }

    #[test]
    fn a_new_record_is_told_to_its_patient_naming_its_doctor() {
        let added = MedicalRecordAdded {
            record_id: 9,
            patient_id: 1,
            doctor_id: 2,
        };
        let (recipient, kind, facts) = record_notice(&added);
        assert_eq!(
            (recipient, kind),
            (Recipient::patient(1), NotificationKind::NewRecord)
        );
        assert_eq!(
            facts.counterpart(recipient.kind),
            Some(Recipient::doctor(2))
        );
        assert_eq!(facts.appointment_id, None);
    }

    #[test]
    fn other_events_are_ignored() {
        let any = changed(AppointmentStatus::Approved);
        assert!(plan(types::PATIENT_UPDATED, &any).is_none());
        assert!(plan("SomethingNew", &any).is_none());
    }
}
