//! The read models on SQLite and PostgreSQL: events in any order and any number of times end
//! in the same figures; a speciality learned late still buckets its doctor's appointments.
#![allow(clippy::unwrap_used)]

use contracts::analytics::AppointmentGroup;
use contracts::appointments::AppointmentStatus;
use contracts::billing::{InvoiceKind, PaymentStatus};
use contracts::events::{
    AppointmentChanged, DoctorChanged, InvoiceChanged, MedicalRecordAdded, PatientChanged, types,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use platform::auth::{Principal, Role};
use platform::events::Batch;
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
    visit((id, 7, 14), status, late, version)
}

/// Appointment `id` with doctor `doctor_id` on December `day`.
fn visit(
    (id, doctor_id, day): (i64, i64, u8),
    status: AppointmentStatus,
    late: bool,
    version: i64,
) -> Envelope {
    let start: Timestamp = format!("2026-12-{day:02}T15:00:00Z").parse().unwrap();
    envelope(
        types::APPOINTMENT_APPROVED,
        AppointmentChanged {
            appointment_id: id,
            patient_id: 1,
            doctor_id,
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
    bill(3, status, amount, version)
}

fn bill(invoice_id: i64, status: PaymentStatus, amount: i64, version: i64) -> Envelope {
    envelope(
        types::INVOICE_UPDATED,
        InvoiceChanged {
            invoice_id,
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

/// Applies `events` one transaction each, as a consumer taking one delivery at a time would.
async fn apply_all(db: &platform::db::Db, events: &[Envelope]) {
    for event in events {
        apply_batch(db, std::slice::from_ref(event)).await.unwrap();
    }
}

/// Applies `events` in one transaction, as one batch of deliveries.
async fn apply_batch(db: &platform::db::Db, events: &[Envelope]) -> anyhow::Result<()> {
    let handler = AnalyticsHandler::new(TimeZone::UTC);
    let events: Vec<&Envelope> = events.iter().collect();
    let mut tx = db.begin().await?;
    handler.apply_all(&mut tx, Batch::current(&events)).await?;
    tx.commit().await?;
    Ok(())
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

/// A history touching every read model: appointments of two doctors on two days moving
/// through their states, invoices created, paid and voided, specialities, registrations and
/// records, with repeats.
fn busy_history() -> Vec<Envelope> {
    use AppointmentStatus::*;
    let mut history = Vec::new();
    for id in 1..=12 {
        let at = (id, 7 + id % 2, 14 + (id % 3) as u8);
        history.push(visit(at, Requested, false, 1));
        history.push(visit(at, Approved, false, 2));
        match id % 4 {
            0 => history.push(visit(at, Cancelled, true, 3)),
            1 => history.push(visit(at, Cancelled, false, 3)),
            2 => history.push(visit(at, Completed, false, 3)),
            _ => {}
        }
        history.push(bill(100 + id, PaymentStatus::Pending, 50 * id, 1));
        let last = if id % 2 == 0 {
            PaymentStatus::Paid
        } else {
            PaymentStatus::Void
        };
        history.push(bill(100 + id, last, 50 * id, 2));
    }
    for (doctor_id, speciality, version) in [(7, "Cardiology", 2), (8, " Dermatology ", 3)] {
        let changed = DoctorChanged {
            doctor_id,
            speciality: Some(speciality.to_owned()),
            version,
        };
        history.push(envelope(types::DOCTOR_UPDATED, changed));
    }
    for patient_id in 1..=3 {
        history.push(envelope(
            types::PATIENT_REGISTERED,
            PatientChanged { patient_id },
        ));
    }
    let record = MedicalRecordAdded {
        record_id: 9,
        patient_id: 1,
        doctor_id: 7,
    };
    history.push(envelope(types::MEDICAL_RECORD_ADDED, record));
    // Every event delivered twice.
    history.extend(history.clone());
    history
}

/// Every figure the read models answer for December: by doctor, by speciality, the summary.
type Figures = (
    Vec<AppointmentGroup>,
    Vec<AppointmentGroup>,
    serde_json::Value,
);

async fn figures(db: &platform::db::Db) -> Figures {
    let store = FiguresStore::new(db.clone());
    let range = DayRange::parse(Some("2026-12-01"), Some("2026-12-31")).unwrap();
    let summary = store.summary(admin(), range).await.unwrap();
    (
        groups(&store, GroupBy::Doctor).await,
        groups(&store, GroupBy::Speciality).await,
        serde_json::to_value(summary).unwrap(),
    )
}

/// One event at a time, the whole history as one batch, or batches of any size in any order:
/// the same figures.
async fn batches_count_as_events_one_by_one(database: impl AsyncFn() -> TestDatabase) {
    let history = busy_history();
    let one_by_one = database().await;
    apply_all(&one_by_one.db, &history).await;
    let expected = figures(&one_by_one.db).await;

    let whole = database().await;
    apply_batch(&whole.db, &history).await.unwrap();
    assert_eq!(figures(&whole.db).await, expected);

    let mut backwards = history.clone();
    backwards.reverse();
    for size in [2, 7] {
        let chunked = database().await;
        for batch in backwards.chunks(size) {
            apply_batch(&chunked.db, batch).await.unwrap();
        }
        assert_eq!(figures(&chunked.db).await, expected, "batches of {size}");
        // A batch over what is already counted changes nothing.
        apply_batch(&chunked.db, &history).await.unwrap();
        assert_eq!(figures(&chunked.db).await, expected);
    }
}

#[tokio::test]
async fn batches_count_as_events_one_by_one_on_sqlite() {
    batches_count_as_events_one_by_one(async || TestDatabase::sqlite(&MIGRATIONS).await).await;
}

#[tokio::test]
async fn batches_count_as_events_one_by_one_on_postgres() {
    batches_count_as_events_one_by_one(async || TestDatabase::postgres(&MIGRATIONS).await).await;
}

/// Two consumers writing overlapping batches at once, in opposite orders, take their row locks
/// in one order: neither deadlocks, and the figures are those of one consumer.
#[tokio::test]
async fn concurrent_batches_do_not_deadlock_on_postgres() {
    let history = busy_history();
    let serial = TestDatabase::postgres(&MIGRATIONS).await;
    apply_batch(&serial.db, &history).await.unwrap();
    let expected = figures(&serial.db).await;

    let shared = TestDatabase::postgres(&MIGRATIONS).await;
    let mut backwards = history.clone();
    backwards.reverse();
    let consumer = |events: Vec<Envelope>| {
        let db = shared.db.clone();
        tokio::spawn(async move {
            for batch in events.chunks(9) {
                apply_batch(&db, batch).await?;
            }
            anyhow::Ok(())
        })
    };
    // The first round inserts most facts, the later ones lock and compare them.
    for _ in 0..3 {
        let (forwards, backwards) =
            tokio::join!(consumer(history.clone()), consumer(backwards.clone()));
        forwards.unwrap().unwrap();
        backwards.unwrap().unwrap();
    }
    assert_eq!(figures(&shared.db).await, expected);
}
