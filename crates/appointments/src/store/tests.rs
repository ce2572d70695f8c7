//! The store against real databases: every scenario runs on a fresh SQLite file and on a fresh
//! PostgreSQL database (on the server at `CAREBOOK_TEST_POSTGRES_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::response::IntoResponse;
use contracts::appointments::{Appointment, AppointmentStatus};
use jiff::{SignedDuration, Timestamp};
use platform::ApiError;
use platform::audit::AuditContext;
use platform::auth::{Principal, Role};
use platform::db::{Backend, Db};

use super::write::{StatusChange, set_status};
use super::{AppointmentStore, Booking, idempotency::NewKey};
use crate::domain::lifecycle::Transition;
use crate::domain::rules::Rule;
use crate::policy::{self, Sealed};

const DAY: SignedDuration = SignedDuration::from_hours(24);
const TTL: Duration = Duration::from_secs(24 * 3600);

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let test_db = platform::testing::TestDatabase::sqlite(&crate::MIGRATIONS).await;
                    super::$name(&test_db.db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let test_db = platform::testing::TestDatabase::postgres(&crate::MIGRATIONS).await;
                    super::$name(&test_db.db).await;
                }
            )*
        }
    };
}

fn ctx(role: Role, patient_id: Option<i64>) -> AuditContext {
    AuditContext {
        principal: Principal {
            user_id: 1,
            role,
            patient_id,
            doctor_id: None,
        },
        endpoint: "POST /api/appointments".to_owned(),
        request_id: "test".to_owned(),
    }
}

/// A booking by `ctx`'s caller for `patient` with `doctor`, `days` from now at the hour.
fn booking(ctx: &AuditContext, patient: i64, doctor: i64, days: i32) -> Booking {
    let start = Timestamp::now()
        .checked_add(DAY * days)
        .unwrap()
        .round(jiff::Unit::Hour)
        .unwrap();
    Booking {
        may: policy::may_book(&ctx.principal, patient).unwrap(),
        doctor_id: doctor,
        start,
        end: start.checked_add(SignedDuration::from_mins(30)).unwrap(),
        description: String::new(),
        service_type: None,
        status: AppointmentStatus::Requested,
        overridden: Vec::new(),
        max_active: 5,
        key: None,
    }
}

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_one(db.pool())
        .await
        .unwrap();
    n
}

async fn execute(db: &Db, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(db.pool())
        .await
        .unwrap();
}

/// A store, patient 1's audit context, and the booking they just made.
async fn booked_by_patient(db: &Db) -> (AppointmentStore, AuditContext, Appointment) {
    let store = AppointmentStore::new(db.clone(), TTL);
    let patient = ctx(Role::Patient, Some(1));
    let booked = store
        .insert_if_free(booking(&patient, 1, 2, 3), &patient)
        .await
        .unwrap();
    (store, patient, booked)
}

async fn a_failing_audit_insert_rolls_the_whole_change_back(db: &Db) {
    let store = AppointmentStore::new(db.clone(), TTL);
    let patient = ctx(Role::Patient, Some(1));
    execute(db, "ALTER TABLE audit_log RENAME TO audit_log_broken").await;
    let refused = store
        .insert_if_free(booking(&patient, 1, 2, 3), &patient)
        .await;
    assert!(matches!(refused, Err(ApiError::Internal(_))), "{refused:?}");
    assert_eq!(count(db, "appointments").await, 0, "no appointment row");
    assert_eq!(count(db, "outbox").await, 0, "no event");
}

async fn a_change_and_its_audit_row_commit_together(db: &Db) {
    let (store, patient, booked) = booked_by_patient(db).await;
    let sealed = Sealed::new(booked.clone());
    let may = policy::may_apply(&patient.principal, sealed, Transition::Cancel).unwrap();
    execute(db, "ALTER TABLE audit_log RENAME TO audit_log_broken").await;
    assert!(
        store
            .apply(&may, None, Some(false), &patient)
            .await
            .is_err()
    );
    execute(db, "ALTER TABLE audit_log_broken RENAME TO audit_log").await;
    let (status,): (String,) = sqlx::query_as("SELECT status FROM appointments")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(status, "REQUESTED", "the cancellation rolled back");
    assert_eq!(count(db, "outbox").await, 1, "only the booking's event");
    assert_eq!(
        count(db, "audit_log").await,
        1,
        "only the booking's audit row"
    );
}

async fn a_bad_stored_status_is_a_server_error(db: &Db) {
    let (store, _, booked) = booked_by_patient(db).await;
    // Only a broken or hand-edited database holds such a row: lift the CHECK to make one.
    let mut conn = db.pool().acquire().await.unwrap();
    let lift = match db.backend() {
        Backend::Sqlite => "PRAGMA ignore_check_constraints = ON",
        Backend::Postgres => "ALTER TABLE appointments DROP CONSTRAINT appointments_status_check",
    };
    sqlx::raw_sql(lift).execute(&mut *conn).await.unwrap();
    sqlx::query("UPDATE appointments SET status = 'LOST' WHERE id = $1")
        .bind(booked.id)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let err = store.find(booked.id).await.unwrap_err();
    assert_eq!(err.into_response().status(), 500);
}

async fn every_source_state_of_a_transition_is_bound(db: &Db) {
    let store = AppointmentStore::new(db.clone(), TTL);
    let admin = ctx(Role::Admin, None);
    let mut ids = Vec::new();
    for (n, status) in ["REQUESTED", "APPROVED", "NO_SHOW", "COMPLETED"]
        .into_iter()
        .enumerate()
    {
        let n = i64::try_from(n).unwrap();
        let id = store
            .insert_if_free(booking(&admin, 10 + n, 20 + n, 3), &admin)
            .await
            .unwrap()
            .id;
        sqlx::query("UPDATE appointments SET status = $1 WHERE id = $2")
            .bind(status)
            .bind(id)
            .execute(db.pool())
            .await
            .unwrap();
        ids.push(id);
    }
    use AppointmentStatus::*;
    let change = StatusChange {
        from: &[Requested, Approved, NoShow],
        to: Cancelled,
        reason: None,
        late_cancellation: None,
    };
    let mut conn = db.pool().acquire().await.unwrap();
    for id in &ids[..3] {
        let row = set_status(&mut conn, *id, &change).await.unwrap();
        let changed = Appointment::try_from(row.expect("each source state is allowed")).unwrap();
        assert_eq!(changed.status, Cancelled);
    }
    let outside = set_status(&mut conn, ids[3], &change).await.unwrap();
    assert!(outside.is_none(), "COMPLETED is not a source state");
}

async fn an_expired_idempotency_key_replays_nothing_and_is_swept(db: &Db) {
    let store = AppointmentStore::new(db.clone(), TTL);
    let patient = ctx(Role::Patient, Some(1));
    let mut first = booking(&patient, 1, 2, 3);
    let may = first.may;
    first.key = Some(NewKey {
        key: "retry-me".to_owned(),
        request_hash: "h".to_owned(),
    });
    store.insert_if_free(first, &patient).await.unwrap();
    assert!(store.stored_reply(may, "retry-me").await.unwrap().is_some());
    // Another user's same key is another key.
    let mut other = ctx(Role::Patient, Some(1));
    other.principal.user_id = 2;
    let other = policy::may_book(&other.principal, 1).unwrap();
    assert!(
        store
            .stored_reply(other, "retry-me")
            .await
            .unwrap()
            .is_none()
    );

    // A day and a millisecond later (the key's row aged instead of the clock moved).
    let aged = i64::try_from(TTL.as_millis()).unwrap() + 1;
    sqlx::query("UPDATE idempotency_keys SET created_at = created_at - $1")
        .bind(aged)
        .execute(db.pool())
        .await
        .unwrap();
    assert!(store.stored_reply(may, "retry-me").await.unwrap().is_none());

    let mut retry = booking(&patient, 1, 2, 4);
    retry.key = Some(NewKey {
        key: "retry-me".to_owned(),
        request_hash: "h".to_owned(),
    });
    store.insert_if_free(retry, &patient).await.unwrap();
    assert_eq!(count(db, "appointments").await, 2, "a new booking ran");
    assert_eq!(
        count(db, "idempotency_keys").await,
        1,
        "the expired row is gone"
    );
}

async fn the_active_limit_holds_under_concurrency_and_admin_overrides_it(db: &Db) {
    let store = AppointmentStore::new(db.clone(), TTL);
    let patient = ctx(Role::Patient, Some(1));
    let attempts = (0..8).map(|n| {
        let store = store.clone();
        let patient = patient.clone();
        tokio::spawn(async move {
            // Distinct doctors and days: nothing overlaps, only the limit can refuse.
            let wanted = booking(&patient, 1, 100 + n, 2 + i32::try_from(n).unwrap());
            store.insert_if_free(wanted, &patient).await
        })
    });
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => created += 1,
            Err(ApiError::Conflict(detail)) => assert!(detail.contains("at most 5"), "{detail}"),
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(created, 5);

    let admin = ctx(Role::Admin, None);
    let mut over = booking(&admin, 1, 200, 20);
    over.overridden = vec![Rule::SlotGrid];
    let booked = store.insert_if_free(over, &admin).await.unwrap();
    let resources: Vec<(String,)> =
        sqlx::query_as("SELECT resource FROM audit_log WHERE actor_role = 'ADMIN' ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let id = booked.id;
    assert_eq!(
        resources.into_iter().map(|(r,)| r).collect::<Vec<_>>(),
        [
            format!("appointment/{id}"),
            format!("appointment/{id}/override/slot-grid"),
            format!("appointment/{id}/override/active-limit"),
        ]
    );
}

on_both_backends!(
    a_failing_audit_insert_rolls_the_whole_change_back,
    a_change_and_its_audit_row_commit_together,
    a_bad_stored_status_is_a_server_error,
    every_source_state_of_a_transition_is_bound,
    an_expired_idempotency_key_replays_nothing_and_is_swept,
    the_active_limit_holds_under_concurrency_and_admin_overrides_it,
);
