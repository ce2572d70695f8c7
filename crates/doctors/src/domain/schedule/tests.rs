//! What a valid schedule is.

use super::*;

fn hours(day: WireDay, start: &str, end: &str) -> WorkingHours {
    WorkingHours {
        day,
        start: start.into(),
        end: end.into(),
    }
}

fn fields(result: platform::Result<ScheduleUpdate>) -> Vec<String> {
    match result {
        Err(platform::ApiError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn clock_times_are_strict_hh_mm() {
    assert_eq!(ClockTime::parse("09:30").map(ClockTime::minutes), Ok(570));
    assert_eq!(ClockTime::parse("24:00").map(ClockTime::minutes), Ok(1440));
    assert_eq!(ClockTime::parse("00:00").map(ClockTime::minutes), Ok(0));
    for bad in [
        "9:30", "09:3", "0930", "09:60", "24:01", "25:00", "ab:cd", "", "+9:30",
    ] {
        assert!(ClockTime::parse(bad).is_err(), "{bad:?} should be refused");
    }
    assert_eq!(ClockTime(570).to_string(), "09:30");
}

#[test]
fn the_standard_week_is_weekdays_nine_to_five() {
    let week = WeeklyHours::standard();
    assert_eq!(week.blocks().len(), 5);
    assert_eq!(week.on(Weekday::Saturday).count(), 0);
    let monday: Vec<_> = week.on(Weekday::Monday).collect();
    assert_eq!(monday.len(), 1);
    assert_eq!(monday[0].start.to_string(), "09:00");
    assert_eq!(monday[0].end.to_string(), "17:00");
}

#[test]
fn accepts_a_split_day_and_orders_it() {
    let input = Schedule {
        slot_minutes: 20,
        weekly: vec![
            hours(WireDay::Tuesday, "08:00", "12:00"),
            hours(WireDay::Monday, "13:00", "17:00"),
            hours(WireDay::Monday, "08:00", "13:00"),
        ],
    };
    let update = ScheduleUpdate::parse(input).unwrap();
    assert_eq!(update.slot_minutes, 20);
    let wire = update.to_wire();
    let order: Vec<_> = wire
        .weekly
        .iter()
        .map(|h| (h.day, h.start.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (WireDay::Monday, "08:00"),
            (WireDay::Monday, "13:00"),
            (WireDay::Tuesday, "08:00")
        ]
    );
}

#[test]
fn reports_bad_times_inverted_blocks_and_the_slot_length_together() {
    let input = Schedule {
        slot_minutes: 4,
        weekly: vec![
            hours(WireDay::Monday, "9:00", "17:00"),
            hours(WireDay::Tuesday, "09:00", "17:61"),
            hours(WireDay::Wednesday, "17:00", "09:00"),
            hours(WireDay::Thursday, "10:00", "10:00"),
        ],
    };
    assert_eq!(
        fields(ScheduleUpdate::parse(input)),
        [
            "slotMinutes",
            "weekly[0].start",
            "weekly[1].end",
            "weekly[2].end",
            "weekly[3].end"
        ]
    );
}

#[test]
fn refuses_overlapping_blocks_of_one_day_but_not_touching_ones() {
    let input = Schedule {
        slot_minutes: 30,
        weekly: vec![
            hours(WireDay::Monday, "09:00", "12:00"),
            hours(WireDay::Monday, "12:00", "14:00"),
            hours(WireDay::Monday, "11:30", "12:30"),
            hours(WireDay::Tuesday, "11:30", "12:30"),
            hours(WireDay::Friday, "08:00", "18:00"),
            hours(WireDay::Friday, "09:00", "10:00"),
            hours(WireDay::Friday, "12:00", "13:00"),
        ],
    };
    assert_eq!(
        fields(ScheduleUpdate::parse(input)),
        ["weekly[2]", "weekly[1]", "weekly[5]", "weekly[6]"]
    );
}

#[test]
fn limits_the_number_of_blocks_and_the_slot_length() {
    let input = Schedule {
        slot_minutes: 30,
        weekly: vec![hours(WireDay::Monday, "09:00", "09:10"); MAX_BLOCKS + 1],
    };
    assert_eq!(fields(ScheduleUpdate::parse(input)), ["weekly"]);
    assert!(parse_slot_minutes(5).is_ok());
    assert!(parse_slot_minutes(240).is_ok());
    assert!(parse_slot_minutes(241).is_err());
}

#[test]
fn an_empty_week_is_a_valid_schedule() {
    let update = ScheduleUpdate::parse(Schedule {
        slot_minutes: 15,
        weekly: vec![],
    })
    .unwrap();
    assert!(update.hours.blocks().is_empty());
}
