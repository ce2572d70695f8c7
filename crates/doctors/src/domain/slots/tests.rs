//! Slots and availability across daylight-saving changes, west and east of UTC. Every zone is
//! explicit, so the results do not depend on the machine's own zone.

use contracts::doctors::{Schedule, Weekday as WireDay, WorkingHours};
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;

use super::*;
use crate::domain::schedule::{ScheduleUpdate, WeeklyHours};

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn ts(raw: &str) -> Timestamp {
    raw.parse().unwrap()
}

fn slot(start: &str, end: &str) -> Slot {
    Slot {
        start: ts(start),
        end: ts(end),
    }
}

/// A week with one block on `day`.
fn hours(day: WireDay, start: &str, end: &str, slot_minutes: u32) -> (WeeklyHours, u32) {
    let update = ScheduleUpdate::parse(Schedule {
        slot_minutes,
        weekly: vec![WorkingHours {
            day,
            start: start.into(),
            end: end.into(),
        }],
    })
    .unwrap();
    (update.hours, update.slot_minutes)
}

fn calendar(
    zone_name: &str,
    day: WireDay,
    start: &str,
    end: &str,
    minutes: u32,
) -> WorkingCalendar {
    let (hours, minutes) = hours(day, start, end, minutes);
    WorkingCalendar::new(zone(zone_name), hours, minutes)
}

fn starts(slots: &[Slot]) -> Vec<String> {
    slots.iter().map(|s| s.start.to_string()).collect()
}

/// Slots never overlap, come in order, and each lies inside working hours.
fn assert_consistent(calendar: &WorkingCalendar, slots: &[Slot]) {
    for pair in slots.windows(2) {
        assert!(
            pair[0].end <= pair[1].start,
            "{:?} overlaps {:?}",
            pair[0],
            pair[1]
        );
    }
    for slot in slots {
        assert!(
            calendar.within_hours(*slot),
            "{slot:?} is outside working hours"
        );
    }
}

fn first_slot_on(calendar: &WorkingCalendar, day: Date) -> String {
    calendar.slots(day, day)[0].start.to_string()
}

#[test]
fn a_doctor_without_a_schedule_works_weekdays_nine_to_five() {
    let calendar = WorkingCalendar::new(TimeZone::UTC, WeeklyHours::standard(), 30);
    // Monday 2026-06-01 to Sunday 2026-06-07.
    let slots = calendar.slots(date(2026, 6, 1), date(2026, 6, 7));
    assert_eq!(slots.len(), 5 * 16);
    assert_eq!(
        slots[0],
        slot("2026-06-01T09:00:00Z", "2026-06-01T09:30:00Z")
    );
    assert_eq!(
        slots[15],
        slot("2026-06-01T16:30:00Z", "2026-06-01T17:00:00Z")
    );
    assert_eq!(slots[79].start, ts("2026-06-05T16:30:00Z"));
    assert_consistent(&calendar, &slots);
}

#[test]
fn the_slot_length_need_not_divide_the_block() {
    let calendar = WorkingCalendar::new(TimeZone::UTC, WeeklyHours::standard(), 45);
    let slots = calendar.slots(date(2026, 6, 1), date(2026, 6, 1));
    // 09:00 + 10 × 45 min = 16:30; another slot would end at 17:15.
    assert_eq!(slots.len(), 10);
    assert_eq!(
        slots[9],
        slot("2026-06-01T15:45:00Z", "2026-06-01T16:30:00Z")
    );
}

#[test]
fn nine_oclock_moves_in_utc_across_the_new_york_spring_change() {
    let calendar = WorkingCalendar::new(zone("America/New_York"), WeeklyHours::standard(), 30);
    // Clocks go forward on Sunday 2026-03-08: EST (-05) before, EDT (-04) after.
    assert_eq!(
        first_slot_on(&calendar, date(2026, 3, 6)),
        "2026-03-06T14:00:00Z"
    );
    assert_eq!(
        first_slot_on(&calendar, date(2026, 3, 9)),
        "2026-03-09T13:00:00Z"
    );
    let week = calendar.slots(date(2026, 3, 2), date(2026, 3, 13));
    assert_eq!(week.len(), 10 * 16);
    assert_consistent(&calendar, &week);
}

#[test]
fn nine_oclock_moves_in_utc_across_the_new_york_autumn_change() {
    let calendar = WorkingCalendar::new(zone("America/New_York"), WeeklyHours::standard(), 30);
    // Clocks go back on Sunday 2026-11-01: EDT before, EST after.
    assert_eq!(
        first_slot_on(&calendar, date(2026, 10, 30)),
        "2026-10-30T13:00:00Z"
    );
    assert_eq!(
        first_slot_on(&calendar, date(2026, 11, 2)),
        "2026-11-02T14:00:00Z"
    );
}

#[test]
fn nine_oclock_moves_in_utc_across_the_berlin_changes() {
    let calendar = WorkingCalendar::new(zone("Europe/Berlin"), WeeklyHours::standard(), 30);
    // Spring: Sunday 2026-03-29, CET (+01) to CEST (+02).
    assert_eq!(
        first_slot_on(&calendar, date(2026, 3, 27)),
        "2026-03-27T08:00:00Z"
    );
    assert_eq!(
        first_slot_on(&calendar, date(2026, 3, 30)),
        "2026-03-30T07:00:00Z"
    );
    // Autumn: Sunday 2026-10-25, CEST back to CET.
    assert_eq!(
        first_slot_on(&calendar, date(2026, 10, 23)),
        "2026-10-23T07:00:00Z"
    );
    assert_eq!(
        first_slot_on(&calendar, date(2026, 10, 26)),
        "2026-10-26T08:00:00Z"
    );
}

#[test]
fn new_york_spring_gap_skips_the_missing_hour() {
    let calendar = calendar("America/New_York", WireDay::Sunday, "01:00", "04:00", 30);
    let slots = calendar.slots(date(2026, 3, 8), date(2026, 3, 8));
    // 02:00 and 02:30 do not exist; 01:30 EST ends exactly when 03:00 EDT begins.
    assert_eq!(
        starts(&slots),
        [
            "2026-03-08T06:00:00Z",
            "2026-03-08T06:30:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-08T07:30:00Z"
        ]
    );
    assert_consistent(&calendar, &slots);
}

#[test]
fn berlin_spring_gap_skips_the_missing_hour() {
    let calendar = calendar("Europe/Berlin", WireDay::Sunday, "01:00", "04:00", 30);
    let slots = calendar.slots(date(2026, 3, 29), date(2026, 3, 29));
    assert_eq!(
        starts(&slots),
        [
            "2026-03-29T00:00:00Z",
            "2026-03-29T00:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T01:30:00Z"
        ]
    );
    assert_consistent(&calendar, &slots);
}

#[test]
fn a_slot_stretched_by_the_gap_does_not_overlap_the_next() {
    let calendar = calendar("America/New_York", WireDay::Sunday, "01:00", "05:00", 45);
    let slots = calendar.slots(date(2026, 3, 8), date(2026, 3, 8));
    // 01:45 EST lasts until 03:30 EDT, so 03:15 EDT is dropped; 02:30 does not exist.
    assert_eq!(
        slots,
        [
            slot("2026-03-08T06:00:00Z", "2026-03-08T06:45:00Z"),
            slot("2026-03-08T06:45:00Z", "2026-03-08T07:30:00Z"),
            slot("2026-03-08T08:00:00Z", "2026-03-08T08:45:00Z"),
        ]
    );
    assert_consistent(&calendar, &slots);
}

#[test]
fn new_york_autumn_fold_uses_the_first_pass_without_duplicates() {
    let calendar = calendar("America/New_York", WireDay::Sunday, "00:00", "03:00", 30);
    let slots = calendar.slots(date(2026, 11, 1), date(2026, 11, 1));
    // 01:00 and 01:30 happen twice; only their EDT occurrence is offered.
    assert_eq!(
        starts(&slots),
        [
            "2026-11-01T04:00:00Z",
            "2026-11-01T04:30:00Z",
            "2026-11-01T05:00:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-01T07:00:00Z",
            "2026-11-01T07:30:00Z"
        ]
    );
    assert_consistent(&calendar, &slots);
}

#[test]
fn berlin_autumn_fold_uses_the_first_pass_without_duplicates() {
    let calendar = calendar("Europe/Berlin", WireDay::Sunday, "01:00", "04:00", 30);
    let slots = calendar.slots(date(2026, 10, 25), date(2026, 10, 25));
    assert_eq!(
        starts(&slots),
        [
            "2026-10-24T23:00:00Z",
            "2026-10-24T23:30:00Z",
            "2026-10-25T00:00:00Z",
            "2026-10-25T00:30:00Z",
            "2026-10-25T02:00:00Z",
            "2026-10-25T02:30:00Z"
        ]
    );
    assert_consistent(&calendar, &slots);
}

#[test]
fn a_block_until_midnight_ends_at_the_next_day() {
    let calendar = calendar("Europe/Berlin", WireDay::Friday, "23:00", "24:00", 30);
    let slots = calendar.slots(date(2026, 7, 3), date(2026, 7, 3));
    assert_eq!(
        slots.last(),
        Some(&slot("2026-07-03T21:30:00Z", "2026-07-03T22:00:00Z"))
    );
    assert_consistent(&calendar, &slots);
}

#[test]
fn past_slots_time_off_and_appointments_are_not_free() {
    let calendar = WorkingCalendar::new(TimeZone::UTC, WeeklyHours::standard(), 30);
    let candidates = calendar.slots(date(2026, 6, 1), date(2026, 6, 1));
    let now = ts("2026-06-01T10:15:00Z");
    let taken = [
        slot("2026-06-01T11:00:00Z", "2026-06-01T12:10:00Z"),
        slot("2026-06-01T14:30:00Z", "2026-06-01T15:00:00Z"),
        slot("2026-06-01T00:00:00Z", "2026-06-01T09:00:00Z"),
    ];
    let free = free_slots(candidates, now, &taken);
    assert_eq!(
        starts(&free),
        [
            "2026-06-01T10:30:00Z",
            "2026-06-01T12:30:00Z",
            "2026-06-01T13:00:00Z",
            "2026-06-01T13:30:00Z",
            "2026-06-01T14:00:00Z",
            "2026-06-01T15:00:00Z",
            "2026-06-01T15:30:00Z",
            "2026-06-01T16:00:00Z",
            "2026-06-01T16:30:00Z"
        ]
    );
}

#[test]
fn time_off_across_days_removes_them_whole() {
    let calendar = WorkingCalendar::new(zone("Europe/Berlin"), WeeklyHours::standard(), 60);
    let candidates = calendar.slots(date(2026, 6, 1), date(2026, 6, 5));
    let holiday = [slot("2026-06-01T22:00:00Z", "2026-06-03T22:00:00Z")];
    let free = free_slots(candidates, ts("2026-01-01T00:00:00Z"), &holiday);
    assert_eq!(free.len(), 3 * 8);
    assert!(free.iter().all(|s| !overlaps(*s, holiday[0])));
}

#[test]
fn within_hours_needs_one_block_of_the_local_date() {
    let calendar = WorkingCalendar::new(zone("Europe/Berlin"), WeeklyHours::standard(), 30);
    let inside = [
        slot("2026-03-30T07:00:00Z", "2026-03-30T07:30:00Z"),
        slot("2026-03-30T14:00:00Z", "2026-03-30T15:00:00Z"),
        slot("2026-12-01T08:00:00Z", "2026-12-01T16:00:00Z"),
    ];
    let outside = [
        // 08:30 to 09:00 CEST: before opening.
        slot("2026-03-30T06:30:00Z", "2026-03-30T07:00:00Z"),
        // 16:30 to 17:30 CEST: runs past closing.
        slot("2026-03-30T14:30:00Z", "2026-03-30T15:30:00Z"),
        // A Saturday.
        slot("2026-03-28T09:00:00Z", "2026-03-28T09:30:00Z"),
        // 08:00 CEST on a Friday (it would be 09:00 in winter, when Berlin is UTC+01).
        slot("2026-07-03T06:00:00Z", "2026-07-03T06:30:00Z"),
    ];
    for interval in inside {
        assert!(
            calendar.within_hours(interval),
            "{interval:?} should be inside"
        );
    }
    for interval in outside {
        assert!(
            !calendar.within_hours(interval),
            "{interval:?} should be outside"
        );
    }
}

#[test]
fn within_hours_around_a_gap_and_a_fold() {
    // Working from 02:30 on the night 02:00-03:00 is skipped means working from 03:00 EDT.
    let spring = calendar("America/New_York", WireDay::Sunday, "02:30", "05:00", 30);
    assert!(spring.within_hours(slot("2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z")));
    assert!(!spring.within_hours(slot("2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z")));
    // Working until 01:30 on the night 01:00-02:00 happens twice covers both passes.
    let autumn = calendar("America/New_York", WireDay::Sunday, "00:00", "01:30", 30);
    assert!(autumn.within_hours(slot("2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z")));
    assert!(!autumn.within_hours(slot("2026-11-01T06:00:00Z", "2026-11-01T06:45:00Z")));
}

#[test]
fn date_ranges_are_ordered_and_bounded() {
    let range = DateRange::parse("2026-03-01", "2026-05-02").unwrap();
    assert_eq!((range.from, range.to), (date(2026, 3, 1), date(2026, 5, 2)));
    assert!(DateRange::parse("2026-03-01", "2026-03-01").is_ok());
    let field_of = |from: &str, to: &str| match DateRange::parse(from, to) {
        Err(platform::ApiError::Invalid(errors)) => {
            errors.into_iter().map(|e| e.field).collect::<Vec<_>>()
        }
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert_eq!(field_of("2026-03-02", "2026-03-01"), ["to"]);
    assert_eq!(field_of("2026-03-01", "2026-05-03"), ["to"]);
    assert_eq!(field_of("03/01/2026", "tomorrow"), ["from", "to"]);
}
