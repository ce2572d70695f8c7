use std::time::Duration;

use contracts::appointments::AppointmentStatus::{self, *};
use contracts::events::types;
use jiff::Timestamp;

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
    fn late_means_inside_the_window() {
        let start: Timestamp = "2030-01-02T09:00:00Z".parse().unwrap();
        let day = Duration::from_secs(24 * 3600);
        let early: Timestamp = "2030-01-01T08:59:59Z".parse().unwrap();
        let late: Timestamp = "2030-01-01T09:00:01Z".parse().unwrap();
        assert!(!is_late_cancellation(early, start, day));
        assert!(is_late_cancellation(late, start, day));
    }
}
