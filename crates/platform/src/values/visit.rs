//! How long a visit can be: the one definition the appointment and doctor services share.

/// The shortest visit, and the shortest slot a doctor's schedule may have.
pub const MIN_VISIT_MINUTES: u32 = 5;
/// The longest length the system accepts as a visit at all (8 h); a clinic offers at most
/// `CAREBOOK_MAX_VISIT_MINUTES` of it.
pub const MAX_VISIT_MINUTES: u32 = 480;
/// The longest slot a doctor's schedule may have (4 h).
pub const MAX_SLOT_MINUTES: u32 = 240;
/// The clinic's longest offered visit when `CAREBOOK_MAX_VISIT_MINUTES` is not set.
pub const DEFAULT_OFFERED_MAX_MINUTES: u32 = 120;

/// A length of a visit in minutes, within [`MIN_VISIT_MINUTES`]..=[`MAX_VISIT_MINUTES`].
/// Whether a doctor offers it is a separate question ([`offered_lengths`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct VisitMinutes(u32);

impl VisitMinutes {
    pub fn parse(minutes: u32) -> Result<Self, String> {
        if (MIN_VISIT_MINUTES..=MAX_VISIT_MINUTES).contains(&minutes) {
            Ok(Self(minutes))
        } else {
            Err(format!(
                "must be between {MIN_VISIT_MINUTES} and {MAX_VISIT_MINUTES} minutes"
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// The visit lengths a doctor with `slot_minutes` slots offers: the slot and its multiples up
/// to `max_minutes` (always at least the slot itself).
pub fn offered_lengths(slot_minutes: u32, max_minutes: u32) -> Vec<u32> {
    let slot = slot_minutes.max(1);
    let mut lengths: Vec<u32> = (1..)
        .map(|n| slot.saturating_mul(n))
        .take_while(|length| *length <= max_minutes.min(MAX_VISIT_MINUTES))
        .collect();
    if lengths.is_empty() {
        lengths.push(slot_minutes);
    }
    lengths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_bounded() {
        assert!(VisitMinutes::parse(0).is_err());
        assert!(VisitMinutes::parse(4).is_err());
        assert_eq!(VisitMinutes::parse(5).unwrap().get(), 5);
        assert_eq!(VisitMinutes::parse(480).unwrap().get(), 480);
        assert!(VisitMinutes::parse(481).is_err());
        assert!(VisitMinutes::parse(u32::MAX).is_err());
    }

    #[test]
    fn doctors_offer_multiples_of_their_slot() {
        assert_eq!(offered_lengths(30, 120), [30, 60, 90, 120]);
        assert_eq!(offered_lengths(20, 50), [20, 40]);
        // A slot longer than the clinic's maximum is still offered on its own.
        assert_eq!(offered_lengths(240, 120), [240]);
        assert_eq!(offered_lengths(30, 10_000).last(), Some(&480));
    }
}
