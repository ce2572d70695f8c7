//! Whether a doctor can be booked for an interval: the appointment service's question.

use contracts::doctors::{Availability, AvailabilityQuery, Doctor, Slot};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use platform::time::parse_instant;
use platform::validation::Violations;
use platform::values::{MAX_SLOT_MINUTES, VisitMinutes, offered_lengths};

use crate::domain::slots::{WorkingCalendar, overlaps};

/// A validated availability question: a start instant and, optionally, a visit length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitRequest {
    pub start: Timestamp,
    pub duration_minutes: Option<u32>,
}

impl VisitRequest {
    /// Reads `start` (offset-less in `clinic`'s zone) and a duration that is a visit length.
    pub fn parse(query: &AvailabilityQuery, clinic: &TimeZone) -> platform::Result<Self> {
        let mut v = Violations::default();
        let start = v.check("start", parse_instant(&query.start, clinic));
        let duration_minutes = v.check_optional("durationMinutes", query.duration_minutes, |m| {
            VisitMinutes::parse(m).map(VisitMinutes::get)
        });
        v.finish(start.map(|start| Self {
            start,
            duration_minutes,
        }))
    }

    /// The longest the visit can be before the doctor's slot length is known: the asked
    /// length, else the longest slot a doctor may have.
    pub fn widest(&self) -> Slot {
        self.interval(MAX_SLOT_MINUTES)
    }

    /// `[start, start + duration)`, the doctor's slot length when no duration was asked for.
    pub fn interval(&self, slot_minutes: u32) -> Slot {
        let minutes = self.duration_minutes.unwrap_or(slot_minutes);
        let length = SignedDuration::from_mins(i64::from(minutes));
        Slot {
            start: self.start,
            end: self.start.saturating_add(length).unwrap_or(self.start),
        }
    }
}

/// The answer for `doctor` and `interval`, given the doctor's calendar, time off, and the
/// clinic's longest visit.
pub fn assess(
    doctor: &Doctor,
    calendar: &WorkingCalendar,
    interval: Slot,
    time_off: &[Slot],
    max_visit_minutes: u32,
) -> Availability {
    Availability {
        doctor_id: doctor.id,
        start: interval.start,
        end: interval.end,
        slot_minutes: doctor.slot_minutes,
        available: doctor.available,
        within_hours: calendar.within_hours(interval),
        on_time_off: time_off.iter().any(|off| overlaps(interval, *off)),
        on_grid: calendar.on_grid(interval.start),
        offered_minutes: offered_lengths(doctor.slot_minutes, max_visit_minutes),
        auto_approve: doctor.auto_approve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::WeeklyHours;

    fn doctor() -> Doctor {
        Doctor {
            id: 7,
            name: "Dr. Who".into(),
            email: "who@example.org".into(),
            phone: "+4930901820".into(),
            speciality: "Time".into(),
            gender: None,
            available: true,
            slot_minutes: 20,
            timezone: Some("America/New_York".into()),
            auto_approve: true,
        }
    }

    fn query(start: &str, duration_minutes: Option<u32>) -> AvailabilityQuery {
        AvailabilityQuery {
            start: start.into(),
            duration_minutes,
        }
    }

    fn ny_calendar() -> WorkingCalendar {
        let zone = TimeZone::get("America/New_York").unwrap();
        WorkingCalendar::new(zone, WeeklyHours::standard(), 20)
    }

    #[test]
    fn defaults_to_the_slot_length_and_reports_hours_and_time_off() {
        let visit =
            VisitRequest::parse(&query("2026-03-09T13:00:00Z", None), &TimeZone::UTC).unwrap();
        let interval = visit.interval(20);
        assert_eq!(interval.end.to_string(), "2026-03-09T13:20:00Z");
        let off = [Slot {
            start: "2026-03-09T13:10:00Z".parse().unwrap(),
            end: "2026-03-09T14:00:00Z".parse().unwrap(),
        }];
        let answer = assess(&doctor(), &ny_calendar(), interval, &off, 120);
        assert!(answer.within_hours && answer.on_time_off && answer.available);
        assert!(answer.auto_approve && answer.on_grid);
        assert_eq!((answer.doctor_id, answer.slot_minutes), (7, 20));
        assert_eq!(answer.offered_minutes, [20, 40, 60, 80, 100, 120]);
    }

    #[test]
    fn outside_hours_in_the_doctors_zone() {
        // 09:00 in UTC is 05:00 in New York (EDT on 2026-03-09 Monday, after the change).
        let visit =
            VisitRequest::parse(&query("2026-03-09T09:00:00", Some(60)), &TimeZone::UTC).unwrap();
        let answer = assess(&doctor(), &ny_calendar(), visit.interval(20), &[], 120);
        assert!(!answer.within_hours && !answer.on_time_off);
        assert_eq!(answer.end.to_string(), "2026-03-09T10:00:00Z");
    }

    #[test]
    fn starts_between_slots_are_off_the_grid() {
        // 09:20 in New York is a slot start of a 20-minute grid from 09:00; 09:07 is not.
        for (start, on_grid) in [
            ("2026-03-09T13:20:00Z", true),
            ("2026-03-09T13:07:00Z", false),
        ] {
            let visit = VisitRequest::parse(&query(start, None), &TimeZone::UTC).unwrap();
            let answer = assess(&doctor(), &ny_calendar(), visit.interval(20), &[], 120);
            assert_eq!(answer.on_grid, on_grid, "{start}");
            assert!(answer.within_hours);
        }
    }

    #[test]
    fn refuses_bad_starts_and_durations_together() {
        let Err(platform::ApiError::Invalid(errors)) =
            VisitRequest::parse(&query("next week", Some(0)), &TimeZone::UTC)
        else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["start", "durationMinutes"]);
    }
}
