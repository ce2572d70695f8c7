//! The clinic's booking rules that ADMIN may override (API.md "Booking rules"). Each breach is
//! a 409 for everyone else; an ADMIN's override is named in the audit trail.

use contracts::doctors::Availability;
use platform::ApiError;

/// A booking rule; its name goes into the audit row of an override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// At most `CAREBOOK_MAX_ACTIVE_PER_PATIENT` active future appointments per patient.
    ActiveLimit,
    /// A visit lasts one of the lengths the doctor offers.
    VisitLength,
    /// A visit starts on the doctor's slot grid.
    SlotGrid,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Self::ActiveLimit => "active-limit",
            Self::VisitLength => "visit-length",
            Self::SlotGrid => "slot-grid",
        }
    }
}

/// A rule a request breaks, with why, for the 409.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub rule: Rule,
    pub detail: String,
}

/// The rules a visit of `minutes` at the doctor's answer breaks: its length and its start.
pub fn offer_breaches(availability: &Availability, minutes: u32) -> Vec<Breach> {
    let mut breaches = Vec::new();
    if !availability.offered_minutes.contains(&minutes) {
        let offered: Vec<String> = availability
            .offered_minutes
            .iter()
            .map(u32::to_string)
            .collect();
        breaches.push(Breach {
            rule: Rule::VisitLength,
            detail: format!(
                "The doctor offers visits of {} minutes, not {minutes}.",
                offered.join(", ")
            ),
        });
    }
    if !availability.on_grid {
        breaches.push(Breach {
            rule: Rule::SlotGrid,
            detail: format!(
                "Visits with this doctor start on the {}-minute slot grid of the working hours.",
                availability.slot_minutes
            ),
        });
    }
    breaches
}

/// The breach of the active-appointment limit, when `active` already reaches `limit`.
pub fn active_limit_breach(active: i64, limit: u32) -> Option<Breach> {
    (active >= i64::from(limit)).then(|| Breach {
        rule: Rule::ActiveLimit,
        detail: format!(
            "A patient may hold at most {limit} active (requested or approved) future \
             appointments (CAREBOOK_MAX_ACTIVE_PER_PATIENT)."
        ),
    })
}

/// The rules overridden when the caller may override, else the first breach as a 409.
pub fn enforce(breaches: Vec<Breach>, may_override: bool) -> Result<Vec<Rule>, ApiError> {
    match breaches.first() {
        Some(first) if !may_override => Err(ApiError::Conflict(first.detail.clone())),
        _ => Ok(breaches.into_iter().map(|breach| breach.rule).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn availability(on_grid: bool) -> Availability {
        Availability {
            doctor_id: 2,
            start: Timestamp::UNIX_EPOCH,
            end: Timestamp::UNIX_EPOCH,
            slot_minutes: 30,
            available: true,
            within_hours: true,
            on_time_off: false,
            on_grid,
            offered_minutes: vec![30, 60, 90, 120],
            auto_approve: false,
        }
    }

    #[test]
    fn offered_lengths_on_the_grid_break_nothing() {
        assert!(offer_breaches(&availability(true), 90).is_empty());
    }

    #[test]
    fn lengths_and_starts_outside_the_offer_are_named() {
        let breaches = offer_breaches(&availability(false), 45);
        let rules: Vec<_> = breaches.iter().map(|b| b.rule).collect();
        assert_eq!(rules, [Rule::VisitLength, Rule::SlotGrid]);
        assert!(breaches[0].detail.contains("30, 60, 90, 120"));
        assert!(offer_breaches(&availability(true), 480)[0].rule == Rule::VisitLength);
    }

    #[test]
    fn the_limit_counts_what_is_already_held() {
        assert_eq!(active_limit_breach(4, 5), None);
        let breach = active_limit_breach(5, 5).unwrap();
        assert!(breach.detail.contains("at most 5"));
    }

    #[test]
    fn only_an_overrider_gets_past_a_breach() {
        let breaches = offer_breaches(&availability(false), 45);
        let Err(ApiError::Conflict(detail)) = enforce(breaches.clone(), false) else {
            panic!("expected a conflict");
        };
        assert!(detail.contains("not 45"));
        assert_eq!(
            enforce(breaches, true).unwrap(),
            [Rule::VisitLength, Rule::SlotGrid]
        );
        assert!(enforce(Vec::new(), false).unwrap().is_empty());
    }
}
