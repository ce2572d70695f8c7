//! The read models on SQLite and PostgreSQL: events in any order and any number of times end
//! in the same figures; a speciality learned late still buckets its doctor's appointments.
#![allow(clippy::unwrap_used)]

use contracts::analytics::AppointmentGroup;
use contracts::appointments::AppointmentStatus;
use contracts::billing::{InvoiceKind, PaymentStatus};
use contracts::events::{AppointmentChanged, DoctorChanged, InvoiceChanged, types};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use platform::auth::{Principal, Role};
use platform::outbox::Envelope;
use platform::testing::TestDatabase;
use uuid::Uuid;

use crate::handler::AnalyticsHandler;
use crate::policy::{MayReadFigures, may_read_figures};
use crate::query::{DayRange, GroupBy};
use crate::store::FiguresStore;
use crate::{MIGRATIONS, TABLES};

fn envelope(event_type: &str, data: impl serde::Serialize) -> Envelope {
    Envelope {
        id: Uuid::now_v7(),
        event_type: event_type.to_owned(),
        occurred_at: "2026-12-01T12:00:00Z".parse().unwrap(),
        source: "test".to_owned(),
        data: serde_json::to_value(data).unwrap(),
        traceparent: None,
    }
}

fn appointment(id: i64, status: AppointmentStatus, late: bool, version: i64) -> Envelope {
    let start: Timestamp = "2026-12-14T15:00:00Z".parse().unwrap();
    envelope(
        types::APPOINTMENT_APPROVED,
        AppointmentChanged {
            appointment_id: id,
            patient_id: 1,
            doctor_id: 7,
            start,
            end: start,
            status,
            previous_start: None,
            late_cancellation: late.then_some(true),
            version,
            service_type: None,
        },
    )
}

fn invoice(status: PaymentStatus, amount: i64, version: i64) -> Envelope {
    envelope(
        types::INVOICE_UPDATED,
        InvoiceChanged {
            invoice_id: 3,
            appointment_id: 1,
            patient_id: 1,
            amount,
            currency: "EUR".to_owned(),
            payment_status: status,
            kind: InvoiceKind::Visit,
            version,
            created_at: Some("2026-12-01T10:00:00Z".parse().unwrap()),
            paid_at: (status == PaymentStatus::Paid)
                .then(|| "2026-12-02T10:00:00Z".parse().unwrap()),
        },
    )
}

fn admin() -> MayReadFigures {
    let principal = Principal {
        user_id: 1,
        role: Role::Admin,
        patient_id: None,
        doctor_id: None,
    };
    may_read_figures(&principal).unwrap()
}

async fn apply_all(db: &platform::db::Db, events: &[Envelope]) {
    let handler = AnalyticsHandler::new(TimeZone::UTC);
    for event in events {
        let mut tx = db.begin().await.unwrap();
        handler.apply(&mut tx, event).await.unwrap();
        tx.commit().await.unwrap();
    }
}

async fn groups(store: &FiguresStore, by: GroupBy) -> Vec<AppointmentGroup> {
    let range = DayRange::parse(Some("2026-12-01"), Some("2026-12-31")).unwrap();
    store.groups(admin(), by, range).await.unwrap()
}

async fn newest_wins_whatever_the_order(database: TestDatabase) {
    use AppointmentStatus::*;
    let history = [
        appointment(1, Requested, false, 1),
        appointment(1, Approved, false, 2),
        appointment(1, Cancelled, true, 3),
        appointment(2, Approved, false, 5),
        invoice(PaymentStatus::Pending, 100, 1),
        invoice(PaymentStatus::Paid, 100, 2),
    ];
    let doctor = |speciality: &str, version| {
        envelope(
            types::DOCTOR_UPDATED,
            DoctorChanged {
                doctor_id: 7,
                speciality: Some(speciality.to_owned()),
                version,
            },
        )
    };
    let store = FiguresStore::new(database.db.clone());
    // Newest last, then everything again backwards: the same figures.
    apply_all(&database.db, &history).await;
    let forwards = groups(&store, GroupBy::Doctor).await;
    assert_eq!((forwards[0].total, forwards[0].cancelled), (2, 1));
    assert_eq!((forwards[0].late_cancelled, forwards[0].approved), (1, 1));
    let mut backwards = history.to_vec();
    backwards.reverse();
    apply_all(&database.db, &backwards).await;
    assert_eq!(groups(&store, GroupBy::Doctor).await, forwards);

    // From scratch, backwards, the speciality last (and a stale one after it).
    let mut tx = database.db.begin().await.unwrap();
    for table in TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    apply_all(&database.db, &backwards).await;
    assert_eq!(groups(&store, GroupBy::Doctor).await, forwards);
    assert_eq!(
        groups(&store, GroupBy::Speciality).await[0].key,
        "(unknown)"
    );
    apply_all(
        &database.db,
        &[doctor("Cardiology", 9), doctor("Dermatology", 4)],
    )
    .await;
    let by_speciality = groups(&store, GroupBy::Speciality).await;
    assert_eq!(by_speciality.len(), 1);
    assert_eq!(
        (by_speciality[0].key.as_str(), by_speciality[0].total),
        ("Cardiology", 2)
    );

    let range = DayRange::parse(Some("2026-12-01"), Some("2026-12-31")).unwrap();
    let summary = store.summary(admin(), range).await.unwrap();
    assert_eq!(summary.appointments.total, 2);
    assert_eq!(summary.appointments.by_status["CANCELLED"], 1);
    assert_eq!((summary.revenue.invoiced, summary.revenue.paid), (100, 100));
    assert_eq!(summary.late_cancellation_rate, 0.5);
}

#[tokio::test]
async fn newest_wins_whatever_the_order_on_sqlite() {
    newest_wins_whatever_the_order(TestDatabase::sqlite(&MIGRATIONS).await).await;
}

#[tokio::test]
async fn newest_wins_whatever_the_order_on_postgres() {
    newest_wins_whatever_the_order(TestDatabase::postgres(&MIGRATIONS).await).await;
}
