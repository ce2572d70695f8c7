//! `DoctorStore::calendar`: the doctor, hours and time off an availability check reads at once.

use contracts::doctors::{Schedule, Slot, TimeOffInput, Weekday, WorkingHours};
use jiff::tz::TimeZone;
use platform::db::Db;

use super::{DoctorStore, details};
use crate::domain::schedule::ScheduleUpdate;
use crate::domain::time_off::TimeOffPeriod;

fn window(start: &str, end: &str) -> Slot {
    Slot {
        start: start.parse().unwrap(),
        end: end.parse().unwrap(),
    }
}

pub async fn a_calendar_holds_the_doctor_hours_and_overlapping_time_off(
    store: &DoctorStore,
    _: &Db,
) {
    let monday = window("2030-01-07T09:00:00Z", "2030-01-07T10:00:00Z");
    assert!(store.calendar(999, monday).await.unwrap().is_none());
    let doctor = store
        .insert(&details(
            "Gregory House",
            "house@example.org",
            "Diagnostics",
            true,
        ))
        .await
        .unwrap();

    // Never given a schedule, no time off: the default week applies.
    let fresh = store.calendar(doctor.id, monday).await.unwrap().unwrap();
    assert_eq!(
        serde_json::to_value(&fresh.doctor).unwrap(),
        serde_json::to_value(&doctor).unwrap()
    );
    assert_eq!(fresh.hours, None);
    assert!(fresh.time_off.is_empty());

    let block = |day, start: &str, end: &str| WorkingHours {
        day,
        start: start.into(),
        end: end.into(),
    };
    let schedule = ScheduleUpdate::parse(Schedule {
        slot_minutes: 20,
        weekly: vec![
            block(Weekday::Monday, "08:00", "12:00"),
            block(Weekday::Tuesday, "13:00", "17:00"),
        ],
    })
    .unwrap();
    store
        .replace_schedule(doctor.id, &schedule)
        .await
        .unwrap()
        .unwrap();
    for (from, to) in [
        ("2030-01-07T09:30:00Z", "2030-01-07T11:00:00Z"),
        ("2030-01-07T08:00:00Z", "2030-01-07T09:15:00Z"),
        ("2030-01-08T13:00:00Z", "2030-01-08T14:00:00Z"),
    ] {
        let input = TimeOffInput {
            from: from.into(),
            to: to.into(),
            reason: Some("Conference".into()),
        };
        let period = TimeOffPeriod::parse(input, &TimeZone::UTC).unwrap();
        store.add_time_off(doctor.id, &period).await.unwrap();
    }

    let read = store.calendar(doctor.id, monday).await.unwrap().unwrap();
    assert_eq!(read.doctor.slot_minutes, 20);
    assert_eq!(read.hours, Some(schedule.hours.clone()));
    assert_eq!(read.hours, store.working_hours(doctor.id).await.unwrap());
    // Only the periods overlapping the window, earliest first, as `time_off_during` has them.
    let starts: Vec<_> = read.time_off.iter().map(|t| t.start.to_string()).collect();
    assert_eq!(starts, ["2030-01-07T08:00:00Z", "2030-01-07T09:30:00Z"]);
    assert_eq!(
        read.time_off,
        store.time_off_during(doctor.id, monday).await.unwrap()
    );

    // A schedule emptied stays a stored (empty) schedule, not the default week.
    let empty = ScheduleUpdate::parse(Schedule {
        slot_minutes: 30,
        weekly: Vec::new(),
    })
    .unwrap();
    store.replace_schedule(doctor.id, &empty).await.unwrap();
    let sunday = window("2030-01-06T09:00:00Z", "2030-01-06T10:00:00Z");
    let read = store.calendar(doctor.id, sunday).await.unwrap().unwrap();
    assert_eq!(read.hours, Some(empty.hours));
    assert!(read.time_off.is_empty());
}
