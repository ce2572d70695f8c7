//! The questions the endpoints take, parsed at the edge: a range of clinic-local days and a
//! grouping. Every offending parameter is reported at once.

use jiff::ToSpan;
use jiff::civil::Date;
use platform::validation::Violations;

/// The longest range a question may cover.
pub const MAX_RANGE_YEARS: i64 = 5;

/// The first and last day asked about, both included, at most [`MAX_RANGE_YEARS`] apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: Date,
    pub to: Date,
}

/// How `GET /api/analytics/appointments` buckets appointments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Doctor,
    Speciality,
}

impl GroupBy {
    fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "day" => Ok(Self::Day),
            "doctor" => Ok(Self::Doctor),
            "speciality" => Ok(Self::Speciality),
            _ => Err("must be day, doctor or speciality".to_owned()),
        }
    }
}

impl DayRange {
    /// `from` and `to` as `YYYY-MM-DD`, both required, in order.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> platform::Result<Self> {
        let mut v = Violations::default();
        let range = Self::check(&mut v, from, to);
        v.finish(range)
    }

    fn check(v: &mut Violations, from: Option<&str>, to: Option<&str>) -> Option<Self> {
        let from = v.check("from", required(from).and_then(parse_date));
        let to = v.check("to", required(to).and_then(parse_date));
        let (from, to) = (from?, to?);
        if to < from {
            v.add("from", "must not be after to");
            return None;
        }
        let longest = from.checked_add(MAX_RANGE_YEARS.years()).ok();
        if longest.is_some_and(|last| to >= last) {
            v.add(
                "to",
                format!("must be less than {MAX_RANGE_YEARS} years after from"),
            );
            return None;
        }
        Some(Self { from, to })
    }

    /// The days as the read models store them (`YYYY-MM-DD` sorts like the dates).
    pub fn bounds(&self) -> (String, String) {
        (self.from.to_string(), self.to.to_string())
    }
}

/// A grouping and a range, every problem of both reported.
pub fn parse_grouping(
    group_by: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> platform::Result<(GroupBy, DayRange)> {
    let mut v = Violations::default();
    let group_by = v.check("groupBy", required(group_by).and_then(GroupBy::parse));
    let range = DayRange::check(&mut v, from, to);
    v.finish(group_by.zip(range))
}

fn required(raw: Option<&str>) -> Result<&str, String> {
    raw.filter(|r| !r.is_empty())
        .ok_or_else(|| "is required".to_owned())
}

fn parse_date(raw: &str) -> Result<Date, String> {
    raw.parse()
        .map_err(|_| "must be a date in the form YYYY-MM-DD".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(result: platform::Result<impl std::fmt::Debug>) -> Vec<String> {
        match result {
            Err(platform::ApiError::Invalid(errors)) => {
                errors.into_iter().map(|e| e.field).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_range_is_two_ordered_dates_under_five_years_apart() {
        let range = DayRange::parse(Some("2026-01-01"), Some("2026-12-31")).unwrap();
        assert_eq!(range.bounds(), ("2026-01-01".into(), "2026-12-31".into()));
        assert!(DayRange::parse(Some("2026-01-01"), Some("2026-01-01")).is_ok());
        assert!(DayRange::parse(Some("2026-01-01"), Some("2030-12-31")).is_ok());
        assert_eq!(
            fields(DayRange::parse(Some("2026-01-01"), Some("2031-01-01"))),
            ["to"]
        );
        assert_eq!(
            fields(DayRange::parse(Some("2026-02-01"), Some("2026-01-31"))),
            ["from"]
        );
        assert_eq!(fields(DayRange::parse(None, Some("x"))), ["from", "to"]);
        assert_eq!(
            fields(DayRange::parse(Some("2026-02-30"), Some("2026-13-01"))),
            ["from", "to"]
        );
    }

    #[test]
    fn a_grouping_is_one_of_three() {
        for (raw, expected) in [
            ("day", GroupBy::Day),
            ("doctor", GroupBy::Doctor),
            ("speciality", GroupBy::Speciality),
        ] {
            let (group_by, _) =
                parse_grouping(Some(raw), Some("2026-01-01"), Some("2026-01-02")).unwrap();
            assert_eq!(group_by, expected);
        }
        assert_eq!(
            fields(parse_grouping(
                Some("week"),
                Some("2026-01-02"),
                Some("2026-01-01")
            )),
            ["groupBy", "from"]
        );
        assert_eq!(
            fields(parse_grouping(None, None, None)),
            ["groupBy", "from", "to"]
        );
    }
}
