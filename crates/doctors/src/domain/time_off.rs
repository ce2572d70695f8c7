//! What a valid period of time off is.

use contracts::doctors::{Slot, TimeOffInput};
use jiff::SignedDuration;
use jiff::tz::TimeZone;
use platform::time::parse_instant;
use platform::validation::Violations;
use platform::values::NonBlank;

/// The longest single period of time off.
pub const MAX_DAYS: i64 = 366;

/// A validated `[from, to)` during which a doctor takes no appointments.
#[derive(Debug, Clone)]
pub struct TimeOffPeriod {
    pub period: Slot,
    pub reason: Option<NonBlank>,
}

impl TimeOffPeriod {
    /// Reads both instants (offset-less ones in `clinic`'s zone) and reports every failure.
    pub fn parse(input: TimeOffInput, clinic: &TimeZone) -> platform::Result<Self> {
        let mut v = Violations::default();
        let from = v.check("from", parse_instant(&input.from, clinic));
        let to = v.check("to", parse_instant(&input.to, clinic));
        let reason = v.check_optional("reason", input.reason, |r| NonBlank::reason(&r));
        if let (Some(from), Some(to)) = (from, to) {
            if to <= from {
                v.add("to", "must be after from");
            } else if from.duration_until(to) > SignedDuration::from_hours(MAX_DAYS * 24) {
                v.add("to", format!("must be at most {MAX_DAYS} days after from"));
            }
        }
        let period = from.zip(to).map(|(start, end)| Self {
            period: Slot { start, end },
            reason,
        });
        v.finish(period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(from: &str, to: &str) -> TimeOffInput {
        TimeOffInput {
            from: from.into(),
            to: to.into(),
            reason: None,
        }
    }

    fn fields(result: platform::Result<TimeOffPeriod>) -> Vec<String> {
        match result {
            Err(platform::ApiError::Invalid(errors)) => {
                errors.into_iter().map(|e| e.field).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn offset_less_instants_are_clinic_local() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let off = TimeOffPeriod::parse(
            input("2026-07-01T00:00:00", "2026-07-02T00:00:00Z"),
            &berlin,
        )
        .unwrap();
        assert_eq!(off.period.start.to_string(), "2026-06-30T22:00:00Z");
        assert_eq!(off.period.end.to_string(), "2026-07-02T00:00:00Z");
    }

    #[test]
    fn the_period_must_be_ordered_and_bounded() {
        let utc = TimeZone::UTC;
        let parse = |from, to| TimeOffPeriod::parse(input(from, to), &utc);
        assert_eq!(
            fields(parse("2026-07-02T00:00:00Z", "2026-07-02T00:00:00Z")),
            ["to"]
        );
        assert_eq!(
            fields(parse("2026-01-01T00:00:00Z", "2027-01-03T00:00:00Z")),
            ["to"]
        );
        assert!(parse("2026-01-01T00:00:00Z", "2027-01-02T00:00:00Z").is_ok());
        assert_eq!(fields(parse("soon", "later")), ["from", "to"]);
    }

    #[test]
    fn a_reason_must_not_be_blank() {
        let blank = TimeOffInput {
            reason: Some(" ".into()),
            ..input("2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z")
        };
        assert_eq!(
            fields(TimeOffPeriod::parse(blank, &TimeZone::UTC)),
            ["reason"]
        );
    }
}
