//! The store against real databases: every scenario runs on a fresh SQLite file and on a fresh
//! PostgreSQL database (on the server at `CAREBOOK_TEST_POSTGRES_URL`).

use contracts::doctors::{DoctorInput, Schedule, Slot, TimeOffInput, Weekday, WorkingHours};
use contracts::events::types;
use jiff::tz::TimeZone;
use platform::ApiError;
use platform::db::Db;
use platform::page::PageRequest;

use super::{DoctorQuery, DoctorStore};
use crate::domain::doctor::DoctorDetails;
use crate::domain::schedule::ScheduleUpdate;
use crate::domain::time_off::TimeOffPeriod;
use platform::testing::TestDatabase;

use crate::MIGRATIONS;

mod calendar;
use calendar::a_calendar_holds_the_doctor_hours_and_overlapping_time_off;

/// Runs each named `async fn(&DoctorStore, &Db)` once per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let test_db = super::TestDatabase::sqlite(&super::MIGRATIONS).await;
                    super::$name(&DoctorStore::new(test_db.db.clone()), &test_db.db).await;
                }
            )*
            use super::DoctorStore;
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let test_db = super::TestDatabase::postgres(&super::MIGRATIONS).await;
                    super::$name(&DoctorStore::new(test_db.db.clone()), &test_db.db).await;
                }
            )*
            use super::DoctorStore;
        }
    };
}

on_both_backends!(
    doctors_round_trip_with_unique_emails_and_events,
    lists_filter_by_speciality_availability_and_search_term,
    schedules_are_replaced_whole,
    time_off_is_kept_per_doctor_and_found_by_overlap,
    a_calendar_holds_the_doctor_hours_and_overlapping_time_off,
);

fn details(name: &str, email: &str, speciality: &str, available: bool) -> DoctorDetails {
    DoctorDetails::parse(DoctorInput {
        name: name.into(),
        email: email.into(),
        phone: "+4930901820".into(),
        speciality: speciality.into(),
        gender: None,
        available: Some(available),
        slot_minutes: None,
        timezone: Some("Europe/Berlin".into()),
        auto_approve: None,
    })
    .unwrap()
}

fn page() -> PageRequest {
    PageRequest { page: 0, size: 20 }
}

async fn doctors_round_trip_with_unique_emails_and_events(store: &DoctorStore, db: &Db) {
    let house = store
        .insert(&details(
            "Gregory House",
            "house@example.org",
            "Diagnostics",
            true,
        ))
        .await
        .unwrap();
    let found = store.find(house.id).await.unwrap().unwrap();
    assert_eq!(found.email, "house@example.org");
    assert_eq!(found.timezone.as_deref(), Some("Europe/Berlin"));
    assert!(found.available && !found.auto_approve);

    let twin = details("Other House", "HOUSE@example.org", "Oncology", true);
    assert!(matches!(
        store.insert(&twin).await,
        Err(ApiError::Conflict(_))
    ));
    let wilson = store
        .insert(&details(
            "James Wilson",
            "wilson@example.org",
            "Oncology",
            true,
        ))
        .await
        .unwrap();
    assert!(matches!(
        store.update(wilson.id, &twin).await,
        Err(ApiError::Conflict(_))
    ));
    assert!(store.update(999, &twin).await.unwrap().is_none());

    let renamed = details("Greg House", "house@example.org", "Diagnostics", false);
    let updated = store.update(house.id, &renamed).await.unwrap().unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.available),
        ("Greg House", false)
    );

    let events = platform::outbox::pending(db.pool(), 10).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            types::DOCTOR_CREATED,
            types::DOCTOR_CREATED,
            types::DOCTOR_UPDATED
        ]
    );
}

async fn lists_filter_by_speciality_availability_and_search_term(store: &DoctorStore, _: &Db) {
    for (name, email, speciality, available) in [
        ("Gregory House", "house@example.org", "Diagnostics", true),
        ("Lisa Cuddy", "cuddy@example.org", "Endocrinology", true),
        ("James Wilson", "wilson@example.org", "Oncology", false),
        ("Allison Cameron", "cameron@example.org", "Immunology", true),
    ] {
        store
            .insert(&details(name, email, speciality, available))
            .await
            .unwrap();
    }
    let names = |query: DoctorQuery<'static>| {
        let store = store.clone();
        async move {
            let (doctors, total) = store.list(&query, page()).await.unwrap();
            assert_eq!(doctors.len() as i64, total);
            doctors.into_iter().map(|d| d.name).collect::<Vec<_>>()
        }
    };
    let all = DoctorQuery::default();
    assert_eq!(names(all.clone()).await.len(), 4);
    let oncology = DoctorQuery {
        speciality: Some("ONCOLOGY"),
        ..all.clone()
    };
    assert_eq!(names(oncology).await, ["James Wilson"]);
    let partial = DoctorQuery {
        speciality: Some("Onco"),
        ..all.clone()
    };
    assert!(names(partial).await.is_empty());
    let available = DoctorQuery {
        available: Some(true),
        ..all.clone()
    };
    assert_eq!(names(available).await.len(), 3);
    let unavailable = DoctorQuery {
        available: Some(false),
        ..all.clone()
    };
    assert_eq!(names(unavailable).await, ["James Wilson"]);
    let by_speciality = DoctorQuery {
        q: Some("LOGY"),
        ..all.clone()
    };
    assert_eq!(names(by_speciality).await.len(), 3);
    let by_email = DoctorQuery {
        q: Some("cuddy@"),
        ..all.clone()
    };
    assert_eq!(names(by_email).await, ["Lisa Cuddy"]);
    let wildcard = DoctorQuery {
        q: Some("%"),
        ..all.clone()
    };
    assert!(names(wildcard).await.is_empty());

    let second = PageRequest { page: 1, size: 3 };
    let (doctors, total) = store.list(&all, second).await.unwrap();
    assert_eq!((doctors.len(), total), (1, 4));
}

async fn schedules_are_replaced_whole(store: &DoctorStore, db: &Db) {
    let doctor = store
        .insert(&details(
            "Gregory House",
            "house@example.org",
            "Diagnostics",
            true,
        ))
        .await
        .unwrap();
    assert_eq!(store.working_hours(doctor.id).await.unwrap(), None);

    let block = |day, start: &str, end: &str| WorkingHours {
        day,
        start: start.into(),
        end: end.into(),
    };
    let first = ScheduleUpdate::parse(Schedule {
        slot_minutes: 20,
        weekly: vec![
            block(Weekday::Sunday, "10:00", "14:00"),
            block(Weekday::Monday, "08:00", "12:00"),
            block(Weekday::Monday, "13:00", "24:00"),
        ],
    })
    .unwrap();
    store
        .replace_schedule(doctor.id, &first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.working_hours(doctor.id).await.unwrap(),
        Some(first.hours.clone())
    );
    assert_eq!(
        store.find(doctor.id).await.unwrap().unwrap().slot_minutes,
        20
    );

    let empty = ScheduleUpdate::parse(Schedule {
        slot_minutes: 15,
        weekly: vec![],
    })
    .unwrap();
    store
        .replace_schedule(doctor.id, &empty)
        .await
        .unwrap()
        .unwrap();
    let stored = store.working_hours(doctor.id).await.unwrap().unwrap();
    assert!(stored.blocks().is_empty());
    assert!(store.replace_schedule(999, &first).await.unwrap().is_none());

    let events = platform::outbox::pending(db.pool(), 10).await.unwrap();
    assert_eq!(events.len(), 3, "one created and two updated events");
}

async fn time_off_is_kept_per_doctor_and_found_by_overlap(store: &DoctorStore, _: &Db) {
    let doctor = store
        .insert(&details(
            "Gregory House",
            "house@example.org",
            "Diagnostics",
            true,
        ))
        .await
        .unwrap();
    let period = |from: &str, to: &str, reason: Option<&str>| {
        let input = TimeOffInput {
            from: from.into(),
            to: to.into(),
            reason: reason.map(Into::into),
        };
        TimeOffPeriod::parse(input, &TimeZone::UTC).unwrap()
    };
    let later = period(
        "2030-02-01T00:00:00Z",
        "2030-02-08T00:00:00Z",
        Some("Ski trip"),
    );
    let sooner = period("2030-01-07T09:00:00Z", "2030-01-07T12:00:00Z", None);
    let added = store
        .add_time_off(doctor.id, &later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (added.doctor_id, added.reason.as_deref()),
        (doctor.id, Some("Ski trip"))
    );
    store
        .add_time_off(doctor.id, &sooner)
        .await
        .unwrap()
        .unwrap();
    assert!(store.add_time_off(999, &sooner).await.unwrap().is_none());

    let all = store.time_off(doctor.id).await.unwrap();
    let starts: Vec<_> = all.iter().map(|t| t.from.to_string()).collect();
    assert_eq!(starts, ["2030-01-07T09:00:00Z", "2030-02-01T00:00:00Z"]);

    let window = |start: &str, end: &str| Slot {
        start: start.parse().unwrap(),
        end: end.parse().unwrap(),
    };
    let touching = window("2030-01-07T12:00:00Z", "2030-01-07T12:30:00Z");
    assert!(
        store
            .time_off_during(doctor.id, touching)
            .await
            .unwrap()
            .is_empty()
    );
    let inside = window("2030-01-07T11:30:00Z", "2030-01-07T12:30:00Z");
    assert_eq!(
        store
            .time_off_during(doctor.id, inside)
            .await
            .unwrap()
            .len(),
        1
    );
    let month = window("2030-01-01T00:00:00Z", "2030-03-01T00:00:00Z");
    assert_eq!(
        store.time_off_during(doctor.id, month).await.unwrap().len(),
        2
    );
}
