use std::time::Duration;

use contracts::appointments::AppointmentStatus::{self, *};
use contracts::events::types;
use jiff::Timestamp;

/// Whose kind of act a transition is; the policy decides who may perform each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// A change by a party of the appointment (its patient, its doctor) or ADMIN.
    Change,
    /// The doctor's decision (or ADMIN's).
    Decide,
}

/// A status change someone can ask for. Anything else is refused with 409.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Approve,
    Reject,
    Cancel,
    Complete,
    NoShow,
}

impl Transition {
    /// What kind of act this is: cancelling is a change anyone of the appointment may make;
    /// the rest are the doctor's decisions.
    pub fn intent(self) -> Intent {
        match self {
            Self::Cancel => Intent::Change,
            Self::Approve | Self::Reject | Self::Complete | Self::NoShow => Intent::Decide,
        }
    }

    /// The statuses this change may start from.
    pub fn starting_states(self) -> &'static [AppointmentStatus] {
        match self {
            Self::Approve | Self::Reject => &[Requested],
            Self::Cancel => &[Requested, Approved],
            Self::Complete | Self::NoShow => &[Approved],
        }
    }

    pub fn target(self) -> AppointmentStatus {
        match self {
            Self::Approve => Approved,
            Self::Reject => Rejected,
            Self::Cancel => Cancelled,
            Self::Complete => Completed,
            Self::NoShow => NoShow,
        }
    }

    pub fn event_type(self) -> &'static str {
        match self {
            Self::Approve => types::APPOINTMENT_APPROVED,
            Self::Reject => types::APPOINTMENT_REJECTED,
            Self::Cancel => types::APPOINTMENT_CANCELLED,
            Self::Complete => types::APPOINTMENT_COMPLETED,
            Self::NoShow => types::APPOINTMENT_NO_SHOW,
        }
    }

    /// Why the change is refused, for the 409 answer.
    pub fn refusal(self, current: AppointmentStatus) -> String {
        format!(
            "An appointment that is {} cannot become {}.",
            current.as_str(),
            self.target().as_str()
        )
    }
}

/// The status of an active appointment after its time or length changed: a patient's change
/// of an approved visit asks the doctor again; a doctor's or ADMIN's keeps it.
pub fn status_after_move(current: AppointmentStatus, by_patient: bool) -> AppointmentStatus {
    if current == Approved && by_patient {
        Requested
    } else {
        current
    }
}

/// A cancellation closer to the start than the clinic's window is late (and may carry a fee).
pub fn is_late_cancellation(now: Timestamp, start: Timestamp, window: Duration) -> bool {
    let notice = start.as_millisecond() - now.as_millisecond();
    notice < i64::try_from(window.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_lifecycle_is_allowed() {
        let allowed = [
            (Transition::Approve, Requested),
            (Transition::Reject, Requested),
            (Transition::Cancel, Requested),
            (Transition::Cancel, Approved),
            (Transition::Complete, Approved),
            (Transition::NoShow, Approved),
        ];
        for transition in [
            Transition::Approve,
            Transition::Reject,
            Transition::Cancel,
            Transition::Complete,
            Transition::NoShow,
        ] {
            for status in AppointmentStatus::ALL {
                assert_eq!(
                    transition.starting_states().contains(&status),
                    allowed.contains(&(transition, status)),
                    "{transition:?} from {status:?}"
                );
            }
        }
    }

    #[test]
    fn only_cancelling_is_a_change_the_rest_are_decisions() {
        assert_eq!(Transition::Cancel.intent(), Intent::Change);
        for decision in [
            Transition::Approve,
            Transition::Reject,
            Transition::Complete,
            Transition::NoShow,
        ] {
            assert_eq!(decision.intent(), Intent::Decide);
        }
    }

    #[test]
    fn a_patients_move_of_an_approved_visit_asks_the_doctor_again() {
        assert_eq!(status_after_move(Approved, true), Requested);
        assert_eq!(status_after_move(Approved, false), Approved);
        assert_eq!(status_after_move(Requested, true), Requested);
    }

    #[test]
    fn late_means_inside_the_window() {
        let start: Timestamp = "2030-01-02T09:00:00Z".parse().unwrap();
        let day = Duration::from_secs(24 * 3600);
        let early: Timestamp = "2030-01-01T08:59:59Z".parse().unwrap();
        let late: Timestamp = "2030-01-01T09:00:01Z".parse().unwrap();
        assert!(!is_late_cancellation(early, start, day));
        assert!(is_late_cancellation(late, start, day));
    }
}
